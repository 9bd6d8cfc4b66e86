namespace Herald.Server;

public sealed class StreamOptions
{
    /// <summary>Base <c>retry:</c> value sent first on every SSE stream.</summary>
    public int RetryMilliseconds { get; set; } = 5000;
    /// <summary>Up to this much is added at random per connection so a restart does not bring everyone back at once.</summary>
    public int RetryJitterMilliseconds { get; set; } = 2500;
    /// <summary>A connection idle this long gets a <c>: heartbeat</c> comment.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>A write (flush) that has not completed after this long marks the peer dead.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Queued events per connection before it is disconnected as a slow consumer.</summary>
    public int MaxQueuedEvents { get; set; } = 1024;
    /// <summary>Queued bytes per connection before it is disconnected as a slow consumer.</summary>
    public int MaxQueuedBytes { get; set; } = 1024 * 1024;
    /// <summary>Concurrent streaming connections (SSE, WebSocket, long-poll) this node accepts.</summary>
    public int MaxConnections { get; set; } = 50_000;
    /// <summary>How long before a token expires its streams get <c>auth-expiring</c>.</summary>
    public TimeSpan AuthWarningLead { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most events one replay (Last-Event-ID) sends before it answers with <c>reset</c> instead.</summary>
    public int MaxReplayEvents { get; set; } = 10_000;

    /// <summary>
    /// SSE streams on plain HTTP/1.1 connections leave Kestrel's request state once their headers are out and go on
    /// over the bare connection (<c>Transports/Handoff</c>): about 7 KB less per idle stream. False
    /// keeps every stream inside Kestrel's request pipeline. Read at start-up.
    /// </summary>
    public bool HandOffConnections { get; set; } = true;
}
