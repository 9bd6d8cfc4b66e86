namespace Herald.Testing;

/// <summary>
/// Waits for a condition only observable by asking (a count in /api/sse/stats, a metric), checking every 20 ms;
/// fails with a cancellation when it does not hold within the timeout (10 s unless given). Events that can be awaited are awaited instead.
/// </summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan? timeout = null) => UntilAsync(() => Task.FromResult(condition()), timeout);
}
