using System.Diagnostics;
using System.Globalization;

namespace Herald.Bench.Load;

/// <summary>
/// The whole machine's busy CPU time (<c>/proc/stat</c>), so a report can show how much of the two cores went
/// to neither the server nor the generator — these machines are shared, and other work skews tail latency.
/// </summary>
internal readonly record struct MachineSample(long BusyMs, long Timestamp)
{
    public static MachineSample? Read()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var fields = reader.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long busy = 0;
            for (var i = 1; i < fields.Length && i <= 8; i++)
            {
                if (i is not 4 and not 5)
                {
                    busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
                }
            }

            return new MachineSample(busy * 10, Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (ex is IOException or FormatException or NullReferenceException)
        {
            return null;
        }
    }

    /// <summary>Cores busy on average between two samples.</summary>
    public static double CoresBetween(MachineSample a, MachineSample b)
    {
        var seconds = (double)(b.Timestamp - a.Timestamp) / Stopwatch.Frequency;
        return seconds <= 0 ? 0 : (b.BusyMs - a.BusyMs) / 1000.0 / seconds;
    }
}
