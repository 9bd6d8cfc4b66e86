using System.Diagnostics;

namespace Herald.Bench.Load;

/// <summary>
/// Sends at a fixed rate on a schedule: one 1 ms tick for the whole run issues every message that is due by
/// then, instead of a delay per message. Requests run concurrently up to an in-flight limit; when the limit
/// holds the pacer back, <see cref="PaceResult.MaxBehind"/> says by how much.
/// </summary>
internal static class Pacer
{
    public static async Task<PaceResult> RunAsync(double perSecond, TimeSpan duration, int maxInFlight, Func<long, Task<bool>> send, CancellationToken ct)
    {
        var result = new PaceResult();
        var inFlight = 0;
        var gate = new Lock();
        var start = Stopwatch.GetTimestamp();
        var total = (long)(perSecond * duration.TotalSeconds);
        long issued = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        while (issued < total)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            var due = Math.Min(total, (long)(perSecond * elapsed.TotalSeconds) + 1);
            while (issued < due && Volatile.Read(ref inFlight) < maxInFlight)
            {
                Interlocked.Increment(ref inFlight);
                _ = SendOneAsync(issued++);
            }

            result.MaxBehind = Math.Max(result.MaxBehind, due - issued);
            if (issued < total)
            {
                await timer.WaitForNextTickAsync(ct);
            }
        }

        result.Issued = issued;
        var drainDeadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Volatile.Read(ref inFlight) > 0 && Stopwatch.GetTimestamp() < drainDeadline)
        {
            await Task.Delay(5, ct);
        }

        result.Elapsed = Stopwatch.GetElapsedTime(start);
        return result;

        async Task SendOneAsync(long index)
        {
            var t0 = Stopwatch.GetTimestamp();
            var ok = false;
            try
            {
                ok = await send(index);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
            }
            finally
            {
                var micros = (long)Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                lock (gate)
                {
                    result.RoundTrip.Record(micros);
                }

                Interlocked.Increment(ref ok ? ref result.Succeeded : ref result.Failed);
                Interlocked.Decrement(ref inFlight);
            }
        }
    }
}
