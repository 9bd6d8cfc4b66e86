using Herald.Server.Diagnostics;
using Microsoft.Extensions.Options;

namespace Herald.Server.Storage;

/// <summary>Trims the event log: keeps the newest N events of every topic, and everything younger than the retention age.</summary>
/// <remarks>A failed pass is logged and counted, and the next interval tries again; only the host stopping ends the loop
/// (a cancellation from anywhere else used to end it too).</remarks>
public sealed class RetentionService(SqlStore store, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var storage = options.Value.Storage;
        using var timer = new PeriodicTimer(storage.RetentionInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var cutoff = DateTimeOffset.UtcNow.Add(-storage.RetainEventsFor).ToUnixTimeMilliseconds();
                    var removed = await store.TrimEventsAsync(cutoff, storage.RetainEventsPerTopic, stoppingToken);
                    if (removed > 0)
                    {
                        StorageLog.RetentionRemoved(logger, removed);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    StorageLog.RetentionFailed(logger, ex);
                    metrics.LoopFault("retention");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
