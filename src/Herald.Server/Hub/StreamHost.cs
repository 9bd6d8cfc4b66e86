using Herald.Protocol;
using Herald.Server.Diagnostics;
using Herald.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hub;

/// <summary>
/// What every transport does around its bytes: take a slot under the connection limit, register the
/// subscriber so live events queue up from this moment, and on the way out unregister, count and log the
/// disconnect with its reason (one line per connect and disconnect, seed 001's lesson).
/// </summary>
public sealed class StreamHost(
    TopicRegistry registry,
    ConnectionTracker tracker,
    Auth.GrantWatcher grants,
    PresenceTracker presence,
    HeraldMetrics metrics,
    IOptions<HeraldOptions> options,
    ILoggerFactory loggerFactory)
{
    private readonly StreamOptions _options = options.Value.Streams;
    private readonly ShutdownOptions _shutdown = options.Value.Shutdown;
    private readonly ILogger _logger = loggerFactory.CreateLogger(StreamLog.Category);
    private int _draining;

    public StreamOptions Options => _options;

    /// <summary>Seconds a client refused by the connection limit should wait.</summary>
    public int RetryAfterSeconds => Math.Max(1, _options.RetryMilliseconds / 1000);

    /// <summary>
    /// Registers a subscriber, or returns null when the node is at its connection limit or draining
    /// (<see cref="Refusal"/> says which). <paramref name="quiet"/> logs at Debug only: a long poll is one request
    /// per answer, and two Information lines per poll would drown everything else. A widget's stream is watched by the
    /// <see cref="Auth.GrantWatcher"/> and closed when <paramref name="principal"/>'s grant is withdrawn. A
    /// <paramref name="view"/> narrows and reframes what the stream gets of its topics (see <see cref="EventView"/>).
    /// </summary>
    public Subscriber? TryOpen(HttpContext context, string transport, IReadOnlyList<string> topics, string label, Auth.Principal principal, bool quiet = false, EventView? view = null)
    {
        var clientKey = Api.RateLimits.ClientKey(context);
        if (IsDraining || !tracker.TryReserve(clientKey))
        {
            return null;
        }

        var subscriber = new Subscriber(transport, topics, _options.MaxQueuedEvents, _options.MaxQueuedBytes) { Abort = context.Abort, ClientKey = clientKey, View = view };
        // Live events queue from here on, before any history is read: nothing published meanwhile is missed,
        // and the writer drops what the replay already covered by id.
        registry.Add(subscriber);
        tracker.Add(subscriber);
        grants.Add(subscriber, principal);
        presence.Add(subscriber, Auth.PresenceSubject.Of(principal));
        if (IsDraining)
        {
            // A drain that began between the check above and the registration may have missed this one.
            registry.Remove(subscriber);
            tracker.Remove(subscriber);
            grants.Remove(subscriber);
            presence.Remove(subscriber);
            return null;
        }

        view?.Opened(subscriber);
        var level = quiet ? LogLevel.Debug : LogLevel.Information;
        if (_logger.IsEnabled(level))
        {
            StreamLog.Connected(_logger, level, transport, label, string.Join(",", topics));
        }

        return subscriber;
    }

    /// <summary>Unregisters; counts and logs why the connection ended.</summary>
    public void Close(Subscriber subscriber, string label, Disconnect fallbackReason, bool quiet = false)
    {
        registry.Remove(subscriber);
        tracker.Remove(subscriber);
        grants.Remove(subscriber);
        presence.Remove(subscriber);
        subscriber.View?.Closed(subscriber);
        var reason = subscriber.CloseReason ?? fallbackReason;
        if (reason != Disconnect.ClientClosed)
        {
            metrics.Disconnects.Add(1, "reason", reason.Reason);
        }

        var level = quiet ? LogLevel.Debug : LogLevel.Information;
        if (_logger.IsEnabled(level))
        {
            StreamLog.Disconnected(_logger, level, subscriber.Transport, label, string.Join(",", subscriber.Topics), reason.Reason);
        }
    }

    // ---- Graceful drain: Operations/GracefulDrain.cs starts it; the transports ask these. ----

    /// <summary>True once the node drains for shutdown: new streams are refused with 503 <c>shutting_down</c>.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>Refuses new streams from now on; false when a drain had already begun.</summary>
    internal bool BeginDrain() => Interlocked.Exchange(ref _draining, 1) == 0;

    /// <summary>Why <see cref="TryOpen"/> said no: the node is draining, or a connection limit was reached.</summary>
    public Api.ApiError Refusal() => IsDraining
        ? new Api.ApiError(StatusCodes.Status503ServiceUnavailable, ErrorCodes.ShuttingDown,
            "This node is shutting down; reconnect (another node will answer) and resume with Last-Event-ID.")
        { RetryAfterSeconds = Math.Max(1, _shutdown.ReconnectMaxMilliseconds / 1000) }
        : Api.ApiError.TooManyConnections(RetryAfterSeconds);

    /// <summary>
    /// The last bytes of an SSE stream ended by a drain: a <c>retry:</c> drawn at random between the configured
    /// bounds, so the clients of a restarting node come back spread out rather than in the same instant, and a
    /// <c>disconnect</c> event naming the reason (no id: it must not move the client's Last-Event-ID).
    /// </summary>
    public byte[] ReconnectFrame()
    {
        var min = Math.Max(0, _shutdown.ReconnectMinMilliseconds);
        var retry = min + Random.Shared.Next(Math.Max(0, _shutdown.ReconnectMaxMilliseconds - min) + 1);
        return [.. SseFrame.Retry(retry), .. DisconnectEvent(new { reason = Disconnect.ShuttingDown.Reason, retry })];
    }

    /// <summary>
    /// The last bytes of an SSE stream the server ended for a reason a client must not reconnect through: its grant was
    /// withdrawn (see <see cref="Auth.GrantWatcher"/>) or the app disconnected the user. A <c>disconnect</c> event with the
    /// reason and, as <c>detail</c>, what changed (no id: the position does not move).
    /// </summary>
    public static byte[] FinalFrame(Disconnect reason, string? detail) => DisconnectEvent(new { reason = reason.Reason, detail });

    // The server's last word on a stream it ends: one `disconnect` event without an id (the position does not move).
    private static byte[] DisconnectEvent(object payload) =>
        SseFrame.Encode(0, "disconnect", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(payload, Api.HeraldJson.Options));

    /// <summary>
    /// Binds a stream to the credential that authorised it: shortly before it expires the stream gets an
    /// <c>auth-expiring</c> event naming this connection; a fresh token presented for the connection
    /// (<c>POST /api/streams/{id}/auth</c>, or <c>{"type":"auth"}</c> on a WebSocket) extends it; otherwise the
    /// stream is closed at expiry (<c>auth_expired</c>). Never downgraded to anonymous. Null for credentials
    /// that do not expire.
    /// </summary>
    public StreamLease? Lease(Subscriber subscriber, Auth.Principal principal)
    {
        if (principal.ExpiresAt is not { } expiresAt)
        {
            return null;
        }

        var lease = new StreamLease(this, subscriber, principal, expiresAt, _options.AuthWarningLead);
        _leases[lease.ConnectionId] = lease;
        return lease;
    }

    public StreamLease? FindLease(string connectionId) => _leases.TryGetValue(connectionId, out var lease) ? lease : null;

    internal void Forget(StreamLease lease) => _leases.TryRemove(new KeyValuePair<string, StreamLease>(lease.ConnectionId, lease));

    internal void LeaseFault(Subscriber subscriber, TimeSpan retry, Exception exception)
    {
        HubLog.LeaseFault(_logger, subscriber.Transport, (long)retry.TotalMilliseconds, exception);
        metrics.LoopFault("lease");
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StreamLease> _leases = new(StringComparer.Ordinal);
}
