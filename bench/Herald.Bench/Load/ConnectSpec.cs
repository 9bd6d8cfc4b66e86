namespace Herald.Bench.Load;

/// <summary>
/// Connections to open: request targets (SSE: the request path; SignalR: the group to join) and the topic
/// index each one listens to.
/// </summary>
internal sealed record ConnectSpec(int Port, int FirstSource, int PerSource, int MaxPending, int TimeoutMs, string[] Targets, int[] Topics)
{
    public const string Sse = "sse";
    public const string SignalR = "signalr";

    /// <summary><see cref="Sse"/> or <see cref="SignalR"/>.</summary>
    public string Protocol { get; init; } = Sse;
}
