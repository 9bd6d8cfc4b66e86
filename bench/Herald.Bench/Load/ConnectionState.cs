namespace Herald.Bench.Load;

/// <summary>Where a connection is in its life.</summary>
internal enum ConnectionState
{
    Queued,
    Connecting,
    /// <summary>Request sent; the stream is not delivering yet (SSE: headers; SignalR: negotiate, upgrade, handshake, join).</summary>
    AwaitingHeaders,
    Streaming,
    Done,
}
