namespace Herald.Client.Internal;

/// <summary>
/// Reconnect delays: the first retry after a working stream waits exactly the base (the server's <c>retry:</c>,
/// already jittered per connection by the server); consecutive failures grow the delay exponentially up to the
/// maximum, with "equal jitter" (half fixed, half random) so clients that failed together come back apart.
/// The same rule as herald.js's <c>backoffDelay</c>.
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int attempt, TimeSpan @base, TimeSpan max, Func<double>? random = null)
    {
        var b = @base < TimeSpan.Zero ? TimeSpan.Zero : @base;
        var floor = b < max ? b : max;
        if (attempt <= 0)
        {
            return floor;
        }

        // 2^attempt overflows quickly; past 30 doublings the cap has long been reached.
        var ceilingMs = Math.Min(max.TotalMilliseconds, b.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30)));
        var r = (random ?? Random.Shared.NextDouble)();
        var ms = (ceilingMs / 2) + (r * ceilingMs / 2);
        return TimeSpan.FromMilliseconds(Math.Max(floor.TotalMilliseconds, Math.Round(ms)));
    }
}
