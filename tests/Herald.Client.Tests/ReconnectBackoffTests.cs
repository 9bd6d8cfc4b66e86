using Herald.Client.Internal;

namespace Herald.Client.Tests;

public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    [Fact]
    public void Delay_FirstAttempt_IsExactlyTheServersRetry()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(6234), ReconnectBackoff.Delay(0, TimeSpan.FromMilliseconds(6234), Max, () => 0.9));
        Assert.Equal(Max, ReconnectBackoff.Delay(0, TimeSpan.FromMinutes(5), Max));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(40)]
    public void Delay_LaterAttempts_GrowWithEqualJitterWithinBaseAndMax(int attempt)
    {
        var @base = TimeSpan.FromSeconds(1);
        var ceiling = Math.Min(Max.TotalMilliseconds, 1000 * Math.Pow(2, Math.Min(attempt, 30)));

        var low = ReconnectBackoff.Delay(attempt, @base, Max, () => 0);
        var high = ReconnectBackoff.Delay(attempt, @base, Max, () => 1);

        Assert.Equal(Math.Max(1000, ceiling / 2), low.TotalMilliseconds);
        Assert.Equal(ceiling, high.TotalMilliseconds);
    }

    [Fact]
    public void Delay_Jitter_SpreadsClientsApart()
    {
        var delays = Enumerable.Range(0, 50).Select(_ => ReconnectBackoff.Delay(4, TimeSpan.FromSeconds(1), Max)).Distinct().Count();
        Assert.True(delays > 10, $"only {delays} distinct delays");
    }
}
