using Herald.Protocol;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Microsoft.Extensions.Options;

namespace Herald.Server.Transports;

/// <summary>
/// What every transport does around its bytes: take a slot under the connection limit, register the
/// subscriber so live events queue up from this moment, and on the way out unregister, count and log the
/// disconnect with its reason (one line per connect and disconnect, seed 001's lesson).
/// </summary>
public sealed class StreamHost(
    TopicRegistry registry,
    ConnectionTracker tracker,
    Auth.GrantWatcher grants,
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
    /// <see cref="Auth.GrantWatcher"/> and closed when <paramref name="principal"/>'s grant is withdrawn.
    /// </summary>
    public Subscriber? TryOpen(HttpContext context, string transport, IReadOnlyList<string> topics, string label, Auth.Principal principal, bool quiet = false)
    {
        var clientKey = Api.RateLimits.ClientKey(context);
        if (IsDraining || !tracker.TryReserve(clientKey))
        {
            return null;
        }

        var subscriber = new Subscriber(transport, topics, _options.MaxQueuedEvents, _options.MaxQueuedBytes) { Abort = context.Abort, ClientKey = clientKey, Principal = principal };
        // Live events queue from here on, before any history is read: nothing published meanwhile is missed,
        // and the writer drops what the replay already covered by id.
        registry.Add(subscriber);
        tracker.Add(subscriber);
        grants.Add(subscriber);
        if (IsDraining)
        {
            // A drain that began between the check above and the registration may have missed this one.
            registry.Remove(subscriber);
            tracker.Remove(subscriber);
            grants.Remove(subscriber);
            return null;
        }

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
        var data = System.Text.Encoding.UTF8.GetBytes($"{{\"reason\":\"{Disconnect.ShuttingDown.Reason}\",\"retry\":{retry}}}");
        return [.. SseFrame.Retry(retry), .. SseFrame.Encode(0, "disconnect", data)];
    }

    /// <summary>
    /// The last bytes of an SSE stream whose grant was withdrawn (see <see cref="Auth.GrantWatcher"/>): a
    /// <c>disconnect</c> event naming the reason and, as <c>detail</c>, what changed (no id: the position does not move).
    /// </summary>
    public static byte[] RevokedFrame(string? detail) =>
        SseFrame.Encode(0, "disconnect", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new { reason = Disconnect.AuthRevoked.Reason, detail }, Api.HeraldJson.Options));

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

/// <summary>See <see cref="StreamHost.Lease"/>.</summary>
/// <remarks>One timer per lease, re-armed from the warning to the expiry: every token-authorised stream has a
/// lease, and a second timer was ~200 bytes more per idle connection.</remarks>
public sealed class StreamLease : IDisposable
{
    private static readonly TimeSpan FaultRetry = TimeSpan.FromSeconds(1);

    private readonly StreamHost _host;
    private readonly Subscriber _subscriber;
    private readonly TimeSpan _warningLead;
    private readonly ITimer _timer;
    private bool _warned;

    internal StreamLease(StreamHost host, Subscriber subscriber, Auth.Principal principal, DateTimeOffset expiresAt, TimeSpan warningLead)
    {
        _host = host;
        _subscriber = subscriber;
        _warningLead = warningLead;
        Principal = principal;
        ConnectionId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        _timer = TimeProvider.System.CreateTimer(static s => ((StreamLease)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Schedule(expiresAt);
    }

    /// <summary>Unguessable id of this connection (128 random bits): knowing it is needed, a fresh token is required.</summary>
    public string ConnectionId { get; }

    public Auth.Principal Principal { get; private set; }

    public DateTimeOffset ExpiresAt { get; private set; }

    /// <summary>Extends the stream with a fresh credential of the same operator; false when it belongs to someone else.</summary>
    public bool Refresh(Auth.Principal fresh)
    {
        if (fresh is not Auth.OperatorPrincipal next || Principal is not Auth.OperatorPrincipal current || next.OperatorId != current.OperatorId
            || next.ExpiresAt is not { } expiresAt)
        {
            return false;
        }

        Principal = fresh;
        Schedule(expiresAt);
        return true;
    }

    public void Dispose()
    {
        _timer.Dispose();
        _host.Forget(this);
    }

    private void Schedule(DateTimeOffset expiresAt)
    {
        lock (_timer)
        {
            ExpiresAt = expiresAt;
            _warned = false; // a fresh credential gets its own warning before its own expiry
            var untilWarning = expiresAt - DateTimeOffset.UtcNow - _warningLead;
            _timer.Change(untilWarning < TimeSpan.Zero ? TimeSpan.Zero : untilWarning, Timeout.InfiniteTimeSpan);
        }
    }

    // A timer callback that throws ends the process, and a lease whose expiry step failed would never close its
    // stream: a fault is logged and counted and the timer fires again shortly (it re-checks the expiry then).
    private void OnTimer()
    {
        try
        {
            OnTimerCore();
        }
        catch (Exception ex)
        {
            _host.LeaseFault(_subscriber, FaultRetry, ex);
            try
            {
                _timer.Change(FaultRetry, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // The stream ended meanwhile; nothing is left to expire.
            }
        }
    }

    private void OnTimerCore()
    {
        bool warn;
        bool expired;
        lock (_timer)
        {
            var untilExpiry = ExpiresAt - DateTimeOffset.UtcNow;
            expired = untilExpiry <= TimeSpan.Zero;
            // Otherwise the warning is due (or the timer fired a little early for the expiry): arm for the expiry.
            warn = !expired && !_warned;
            if (!expired)
            {
                _warned = true;
                _timer.Change(untilExpiry, Timeout.InfiniteTimeSpan);
            }
        }

        if (warn)
        {
            Warn();
        }
        else if (expired)
        {
            _subscriber.Close(Disconnect.AuthExpired, drain: true);
        }
    }

    private void Warn()
    {
        var data = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            connection_id = ConnectionId,
            expires_at = ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            refresh = $"/api/streams/{ConnectionId}/auth",
        }, Api.HeraldJson.Options);
        _subscriber.TryEnqueue(new HubEvent(0, "", "auth-expiring", data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }
}
