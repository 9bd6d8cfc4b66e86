namespace Herald.Bench.Load;

/// <summary>
/// Connections to open: request targets (SSE: the request path; SignalR: the group to join) and the topic
/// index each one listens to.
/// </summary>
internal sealed record ConnectSpec(int Port, int FirstSource, int PerSource, int MaxPending, int TimeoutMs, string[] Targets, int[] Topics)
{
    public const string Sse = "sse";
    public const string SignalR = "signalr";

    /// <summary>Herald's own WebSockets (<c>/ws/...</c>): the request target is the socket's path.</summary>
    public const string WebSocket = "websocket";

    /// <summary>Herald's long polling: the request target is the poll path with its query (after_id is added).</summary>
    public const string Poll = "poll";

    /// <summary><see cref="Sse"/>, <see cref="SignalR"/>, <see cref="WebSocket"/> or <see cref="Poll"/>.</summary>
    public string Protocol { get; init; } = Sse;
}
