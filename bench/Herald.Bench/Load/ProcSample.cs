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

            var fields = StatFields(pid);
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new ProcSample(rss, ticks * 1000 / TicksPerSecond, Stopwatch.GetTimestamp());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// CPU time (ms) of <paramref name="pid"/> and all its descendants: each live process's <c>utime + stime</c> plus
    /// <c>cutime + cstime</c>, the time of the children it has already reaped, so the sum only grows while backends
    /// come and go. For services made of several processes (PostgreSQL: the postmaster, its backends and background
    /// workers); null when the process is gone.
    /// </summary>
    public static long? TreeCpuMs(int pid)
    {
        try
        {
            var fields = StatFields(pid);
            long ticks = 0;
            for (var i = 11; i <= 14; i++)
            {
                ticks += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }

            var total = ticks * 1000 / TicksPerSecond;
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    total += TreeCpuMs(int.Parse(child, CultureInfo.InvariantCulture)) ?? 0;
                }
            }

            return total;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    // The fields after the command name, which is in parentheses and may contain spaces: utime is the 14th field
    // overall, i.e. [11] here, stime [12], cutime [13], cstime [14].
    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    /// <summary>CPU used between two samples as a share of one core (1.0 = one core busy).</summary>
    public static double CoresBetween(ProcSample a, ProcSample b)
    {
        var seconds = (double)(b.Timestamp - a.Timestamp) / Stopwatch.Frequency;
        return seconds <= 0 ? 0 : (b.CpuMs - a.CpuMs) / 1000.0 / seconds;
    }
}
