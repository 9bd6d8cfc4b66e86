using System.Diagnostics;
using Herald.Protocol;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Herald.Server.Transports;
using Microsoft.Extensions.Options;

namespace Herald.Server.Operations;

/// <summary>
/// What a node does between SIGTERM and exit, all within <see cref="ShutdownOptions.DrainTimeout"/>.
/// </summary>
/// <remarks>
/// <para>The host runs this in <c>ApplicationStopping</c>, before Kestrel stops: from then on new streams get
/// 503 <c>shutting_down</c> (WebSocket: close 1012); every open stream is closed with
/// <see cref="Disconnect.ShuttingDown"/> in drain mode, so its writer first writes what is already queued.
/// SSE streams end with a random <c>retry:</c> of 1–3 s (<see cref="StreamHost.ReconnectFrame"/>), WebSockets
/// with 1012, waiting long polls answer at once. Clients reconnect — to the other node behind the proxy — and
/// resume from their Last-Event-ID, so nothing is lost.</para>
/// <para>Then the host stops Kestrel, which waits for the requests in flight (including POSTs whose commits are
/// queued in the <see cref="Storage.EventWriter"/>); the writer, stopped after Kestrel, commits whatever is still
/// queued. Streams still open shortly before the deadline (a peer that stopped reading) are aborted so the
/// writer keeps the remainder of the budget.</para>
/// </remarks>
internal sealed class GracefulDrain(
    StreamHost host,
    ConnectionTracker tracker,
    IHostApplicationLifetime lifetime,
    IOptions<HeraldOptions> options,
    ILoggerFactory loggers) : IHostedService
{
    private readonly ILogger _logger = loggers.CreateLogger(StreamLog.Category);
    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Begin returns at once; the watch it starts runs alongside the host's own shutdown.
        _stopping = lifetime.ApplicationStopping.Register(static s => _ = ((GracefulDrain)s!).Begin(), this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Starts the drain (idempotent); the returned task completes when every stream has ended or was aborted.</summary>
    public Task Begin()
    {
        if (!host.BeginDrain())
        {
            return Task.CompletedTask;
        }

        var started = Stopwatch.GetTimestamp();
        var timeout = options.Value.Shutdown.DrainTimeout;
        // Keep a slice of the budget for the writer's last commits and the host's own teardown.
        var reserve = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, timeout.Ticks / 4));
        var deadline = timeout - reserve;
        var all = tracker.All();
        StreamLog.DrainStarted(_logger, all.Count,
            string.Join(", ", all.GroupBy(s => s.Transport).Select(g => $"{g.Key}={g.Count()}")), (long)deadline.TotalMilliseconds);
        foreach (var subscriber in all)
        {
            subscriber.Close(Disconnect.ShuttingDown, drain: true);
        }

        return WatchAsync(started, deadline);
    }

    private async Task WatchAsync(long started, TimeSpan deadline)
    {
        // The transports unregister as they finish; a short poll is simpler than a signal from every transport
        // and runs only during shutdown.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        while (tracker.Count > 0 && Stopwatch.GetElapsedTime(started) < deadline)
        {
            await timer.WaitForNextTickAsync();
        }

        var elapsed = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var left = tracker.All();
        if (left.Count == 0)
        {
            StreamLog.DrainCompleted(_logger, elapsed);
            return;
        }

        StreamLog.DrainDeadline(_logger, elapsed, left.Count);
        foreach (var subscriber in left)
        {
            subscriber.Abort?.Invoke();
        }
    }
}
