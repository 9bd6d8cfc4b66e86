using Microsoft.Extensions.Options;

namespace Herald.Server.Storage;

/// <summary>Trims the event log: keeps the newest N events of every topic, and everything younger than the retention age.</summary>
public sealed class RetentionService(SqlStore store, IOptions<HeraldOptions> options, ILogger<RetentionService> logger) : BackgroundService
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
                        logger.LogInformation("Retention removed {Count} events", removed);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Event retention failed; will retry");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
