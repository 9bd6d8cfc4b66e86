namespace Herald.Redis.Internal;

/// <summary>Reconnect delays: exponential from the minimum to the maximum, with jitter.</summary>
internal static class Backoff
{
    /// <summary>
    /// The delay before reconnect attempt <paramref name="attempt"/> (0-based): a ceiling that doubles each attempt up
    /// to <paramref name="max"/>, and a delay drawn uniformly from its upper half, never below <paramref name="min"/>.
    /// </summary>
    /// <remarks>
    /// Half fixed, half random ("equal jitter"): the fixed half stops a dead server from being hammered, the random
    /// half stops every node of a cluster from reconnecting in the same instant after a Redis restart.
    /// </remarks>
    public static TimeSpan Compute(int attempt, TimeSpan min, TimeSpan max, Random random)
    {
        var ceiling = Math.Min(min.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt, 0, 30)), max.TotalMilliseconds);
        var delay = (ceiling / 2) + (random.NextDouble() * ceiling / 2);
        return TimeSpan.FromMilliseconds(Math.Max(delay, min.TotalMilliseconds));
    }
}
