using Herald.Redis.Internal;

namespace Herald.Redis.Tests;

public class BackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    [Fact]
    public void Grows_exponentially_within_jitter_and_stays_between_min_and_max()
    {
        var random = new Random(1234);
        for (var attempt = 0; attempt < 40; attempt++)
        {
            var ceiling = Math.Min(100 * Math.Pow(2, Math.Min(attempt, 30)), 5000);
            for (var sample = 0; sample < 50; sample++)
            {
                var delay = Backoff.Compute(attempt, Min, Max, random).TotalMilliseconds;
                Assert.InRange(delay, Math.Max(100, ceiling / 2), ceiling);
            }
        }
    }

    [Fact]
    public void Is_jittered()
    {
        var random = new Random(42);
        var delays = Enumerable.Range(0, 20).Select(_ => Backoff.Compute(10, Min, Max, random)).Distinct().Count();
        Assert.True(delays > 10, "delays for the same attempt should differ");
    }
}
