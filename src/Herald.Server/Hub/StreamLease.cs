using Herald.Protocol;
using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Hub;

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

    /// <summary>
    /// Extends the stream with a fresh credential of the same operator, or of the same app user (<c>sub</c>) whose
    /// fresh token still grants every topic of the stream; false otherwise.
    /// </summary>
    public bool Refresh(Auth.Principal fresh)
    {
        var same = (fresh, Principal) switch
        {
            (Auth.OperatorPrincipal next, Auth.OperatorPrincipal current) => next.OperatorId == current.OperatorId,
            (Auth.AppUserPrincipal next, Auth.AppUserPrincipal current) => next.Subject == current.Subject && _subscriber.Topics.All(next.Subscribe.Allows),
            _ => false,
        };
        if (!same || fresh.ExpiresAt is not { } expiresAt)
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
