using System.Net.Security;
using Microsoft.Extensions.Logging;

namespace Herald.Redis;

/// <summary>Settings shared by <see cref="RedisConnection"/> and <see cref="RedisSubscriber"/>.</summary>
public sealed class RedisClientOptions
{
    /// <summary>The server to connect to, e.g. <c>RedisEndpoint.Parse("redis://127.0.0.1:6379")</c>.</summary>
    public required RedisEndpoint Endpoint { get; set; }

    /// <summary>
    /// The time allowed for one connection attempt: TCP connect, TLS handshake, AUTH/SELECT/CLIENT SETNAME and, for a
    /// subscriber, re-subscribing. Default 5 seconds.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The delay before the first reconnect attempt after a connection is lost. Default 100 ms.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The ceiling of the reconnect delay, which doubles after each failed attempt and is jittered so that many
    /// clients do not reconnect in lockstep. Default 5 seconds.
    /// </summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often an idle or busy connection sends PING; when a PING is not answered within another interval the
    /// connection is considered dead and replaced. This catches a server that hangs without closing the socket, which
    /// would otherwise leave a subscriber silently deaf. <see cref="TimeSpan.Zero"/> disables it. Default 10 seconds.
    /// </summary>
    /// <remarks>
    /// The PING queues behind the commands sent before it, so a blocking command (BLPOP, XREAD BLOCK...) that holds a
    /// <see cref="RedisConnection"/> for longer than this interval trips it: disable the heartbeat for such use.
    /// </remarks>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The name set with CLIENT SETNAME on every connection (no spaces), or <see langword="null"/>.</summary>
    public string? ClientName { get; set; }

    /// <summary>
    /// Validates the server certificate for <c>rediss://</c>; <see langword="null"/> uses the system's normal
    /// validation (the certificate must be trusted and match <see cref="RedisEndpoint.Host"/>).
    /// </summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidationCallback { get; set; }

    /// <summary>Receives connection events (connected, lost, reconnect failures); nothing is logged when null.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// The most commands a <see cref="RedisConnection"/> holds queued or awaiting their reply. Beyond it, commands fail
    /// at once with <see cref="RedisConnectionException"/> instead of growing memory while the server does not keep
    /// up. Default 100,000.
    /// </summary>
    public int MaxPendingCommands { get; set; } = 100_000;

    /// <summary>
    /// The capacity of <see cref="RedisSubscriber.Messages"/>. When the consumer falls this far behind, the subscriber
    /// drops its connection rather than buffer more; see <see cref="RedisSubscriber"/>. Default 100,000.
    /// </summary>
    public int MessageQueueCapacity { get; set; } = 100_000;

    internal void Validate()
    {
        if (Endpoint is null)
        {
            throw new ArgumentException("RedisClientOptions.Endpoint is required.", nameof(Endpoint));
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("RedisClientOptions.ConnectTimeout must be positive.", nameof(ConnectTimeout));
        }

        if (ReconnectMinDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectMinDelay)
        {
            throw new ArgumentException(
                "RedisClientOptions.ReconnectMinDelay must be positive and not above ReconnectMaxDelay.",
                nameof(ReconnectMinDelay));
        }

        if (HeartbeatInterval < TimeSpan.Zero)
        {
            throw new ArgumentException(
                "RedisClientOptions.HeartbeatInterval must not be negative (zero disables it).", nameof(HeartbeatInterval));
        }

        if (ClientName is not null && (ClientName.Length == 0 || ClientName.Any(c => c <= ' ')))
        {
            throw new ArgumentException(
                "RedisClientOptions.ClientName must be non-empty and contain no spaces or control characters.",
                nameof(ClientName));
        }

        if (MaxPendingCommands < 1 || MessageQueueCapacity < 1)
        {
            throw new ArgumentException("RedisClientOptions queue limits must be at least 1.", nameof(MaxPendingCommands));
        }
    }
}
