using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>
/// The safety net under the backplane: watches the store's newest event id and catches up whatever this node
/// has not delivered — events published while Redis was unreachable, or whose pub/sub message was lost.
/// </summary>
/// <remarks>
/// Checks every 250 ms while Redis is disconnected (so subscribers keep getting every durable event, slightly
/// later, through an outage) and every 2 s while connected (one indexed single-row read). A head that stays
/// ahead of the node for longer than the reorder window is caught up; right after a reconnect, at once.
/// A failed check is logged and counted and the next one follows after the same wait (which is the back-off);
/// only the host stopping ends the loop.
/// </remarks>
public sealed class StoreWatcher(RedisBus bus, EventDispatcher dispatcher, SqlStore store, HeraldMetrics metrics, ILogger<StoreWatcher> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _kick = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bus.Reconnected += Kick;
        try
        {
            long behindSince = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                var connected = bus.State == "connected";
                var kicked = await _kick.WaitAsync(connected ? TimeSpan.FromSeconds(2) : TimeSpan.FromMilliseconds(250), stoppingToken);
                try
                {
                    var head = await store.GetLastEventIdAsync(stoppingToken);
                    if (head <= dispatcher.LastDeliveredId)
                    {
                        behindSince = 0;
                        continue;
                    }

                    // Connected and only just behind: the events are probably in flight on Redis; give them a moment.
                    var now = Environment.TickCount64;
                    if (connected && !kicked && (behindSince == 0 || now - behindSince < 500))
                    {
                        behindSince = behindSince == 0 ? now : behindSince;
                        continue;
                    }

                    behindSince = 0;
                    var before = dispatcher.LastDeliveredId;
                    await dispatcher.CatchUpAsync(stoppingToken);
                    BackplaneLog.CaughtUp(logger, before + 1, dispatcher.LastDeliveredId, bus.State);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    BackplaneLog.CatchUpFailed(logger, ex);
                    metrics.LoopFault("store_watcher");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            bus.Reconnected -= Kick;
        }
    }

    private void Kick()
    {
        try
        {
            _kick.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public override void Dispose()
    {
        _kick.Dispose();
        base.Dispose();
    }
}
