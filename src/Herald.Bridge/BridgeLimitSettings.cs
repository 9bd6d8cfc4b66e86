namespace Herald.Bridge;

/// <summary>Hard limits; every one bounds memory, time or the number of upstream connections.</summary>
public sealed class BridgeLimitSettings
{
    /// <summary>Concurrent upstream streams on one WebSocket (tagged ones plus the sequential one).</summary>
    public int MaxStreamsPerSocket { get; set; } = 8;
    /// <summary>Concurrent upstream streams on the whole bridge.</summary>
    public int MaxStreams { get; set; } = 512;
    /// <summary>Concurrent upstream streams of one client address, over all its sockets; 0 = no limit.</summary>
    public int MaxStreamsPerAddress { get; set; } = 64;
    /// <summary>Concurrent bridge sockets from one client address, idle or not; 0 = no limit.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 16;
    /// <summary>Requests without an id waiting behind the one that is streaming.</summary>
    public int MaxQueuedRequests { get; set; } = 16;
    /// <summary>Largest WebSocket message a client may send; a larger one closes the socket with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;
    /// <summary>Largest request body forwarded upstream.</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;
    /// <summary>Largest SSE line, and largest event (all its lines), accepted from upstream.</summary>
    public int MaxEventBytes { get; set; } = 1024 * 1024;
    /// <summary>Milliseconds from starting an upstream request to its response headers (DNS, TCP, TLS included).</summary>
    public int ConnectTimeout { get; set; } = 10_000;
    /// <summary>Milliseconds one WebSocket send may take; a client that reads nothing for this long is disconnected.</summary>
    public int SendTimeout { get; set; } = 30_000;
    /// <summary>Redirects followed per upstream request, each target checked again.</summary>
    public int MaxRedirects { get; set; } = 5;
    /// <summary>WebSocket ping interval in milliseconds; 0 = none.</summary>
    public int KeepAlive { get; set; } = 30_000;
    /// <summary>Socket receive buffer of each upstream connection in bytes; 0 = the OS default (autotuned).</summary>
    public int UpstreamReceiveBuffer { get; set; } = 64 * 1024;
}
