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
    HeraldMetrics metrics,
    IOptions<HeraldOptions> options,
    ILoggerFactory loggerFactory)
{
    private readonly StreamOptions _options = options.Value.Streams;
    private readonly ILogger _logger = loggerFactory.CreateLogger("SSE Manager");

    public StreamOptions Options => _options;

    /// <summary>Seconds a client refused by the connection limit should wait.</summary>
    public int RetryAfterSeconds => Math.Max(1, _options.RetryMilliseconds / 1000);

    /// <summary>Registers a subscriber, or returns null when the node is at its connection limit.</summary>
    public Subscriber? TryOpen(string transport, IReadOnlyList<string> topics, string label, Action? abort, bool log = true)
    {
        if (!tracker.TryReserve())
        {
            return null;
        }

        var subscriber = new Subscriber(transport, topics, _options.MaxQueuedEvents, _options.MaxQueuedBytes) { Abort = abort };
        // Live events queue from here on, before any history is read: nothing published meanwhile is missed,
        // and the writer drops what the replay already covered by id.
        registry.Add(subscriber);
        tracker.Add(subscriber);
        if (log)
        {
            _logger.LogInformation("{Transport} connected: {Label}, topics={Topics}", transport, label, string.Join(",", topics));
        }

        return subscriber;
    }

    /// <summary>Unregisters; counts and logs why the connection ended.</summary>
    public void Close(Subscriber subscriber, string label, string fallbackReason, bool log = true)
    {
        registry.Remove(subscriber);
        tracker.Remove(subscriber);
        var reason = subscriber.CloseReason ?? fallbackReason;
        if (reason != DisconnectReasons.ClientClosed)
        {
            metrics.Disconnects.Add(1, "reason", reason);
        }

        if (log)
        {
            _logger.LogInformation("{Transport} disconnected: {Label}, reason={Reason}", subscriber.Transport, label, reason);
        }
    }

    /// <summary>Closes <paramref name="subscriber"/> when its credential expires (operators' JWTs).</summary>
    public static ITimer? ScheduleExpiry(Subscriber subscriber, DateTimeOffset? expiresAt)
    {
        if (expiresAt is not { } at)
        {
            return null;
        }

        var due = at - DateTimeOffset.UtcNow;
        return TimeProvider.System.CreateTimer(static s => ((Subscriber)s!).Close(DisconnectReasons.AuthExpired, drain: true), subscriber,
            due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }
}
