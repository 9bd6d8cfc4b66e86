using System.Diagnostics;
using System.Globalization;

namespace Herald.Bench.Load;

/// <summary>Memory and CPU of a process, from <c>/proc/PID/status</c> and <c>/proc/PID/stat</c>.</summary>
internal readonly record struct ProcSample(long RssKb, long CpuMs, long Timestamp)
{
    // USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    private const int TicksPerSecond = 100;

    public static ProcSample? Read(int pid)
    {
        try
        {
            long rss = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                    break;
                }
            }

            // Fields after the command name, which is in parentheses and may contain spaces: utime is the 14th
            // field overall, stime the 15th, i.e. the 12th and 13th after ")".
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new ProcSample(rss, ticks * 1000 / TicksPerSecond, Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>CPU used between two samples as a share of one core (1.0 = one core busy).</summary>
    public static double CoresBetween(ProcSample a, ProcSample b)
    {
        var seconds = (double)(b.Timestamp - a.Timestamp) / Stopwatch.Frequency;
        return seconds <= 0 ? 0 : (b.CpuMs - a.CpuMs) / 1000.0 / seconds;
    }
}
