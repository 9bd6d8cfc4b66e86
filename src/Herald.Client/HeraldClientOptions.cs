using Microsoft.Extensions.Logging;

namespace Herald.Client;

/// <summary>Reconnection and timeout settings of a <see cref="HeraldClient"/>. The defaults suit most uses.</summary>
public sealed class HeraldClientOptions
{
    /// <summary>
    /// The first reconnect delay until the server sends <c>retry:</c>; after that the server's value is used
    /// (Herald sends 5 s plus a per-connection random part). Default 1 s.
    /// </summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between attempts while the server stays unreachable. Default 30 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for a stream's response headers. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a message post is retried after a transient failure (network error, 5xx, 408, 429). Each post
    /// carries a <c>client_message_id</c>, so a retry of a post the server did store returns the original message
    /// instead of storing (and broadcasting) it twice. Default 3.
    /// </summary>
    public int PostRetries { get; set; } = 3;

    /// <summary>How long a REST call (login, post, history) may take. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A stream that delivers no bytes at all for this long is considered dead and reconnected. Herald sends a
    /// heartbeat every 15 s by default, so the default of 45 s tolerates two lost heartbeats.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// When a subscription starts without a last event id, ask the server for its current position first (a
    /// long-poll request without <c>after_id</c>), so that even a stream that breaks before its first event can
    /// resume without a gap. Default true.
    /// </summary>
    public bool ResolveStartPosition { get; set; } = true;

    /// <summary>Receives connection, reconnect and reset diagnostics. Default: none.</summary>
    public ILogger? Logger { get; set; }
}
