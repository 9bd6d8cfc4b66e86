using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Herald.Bench.Report;

/// <summary>What the figures were measured on: CPU model, cores, memory, kernel, .NET.</summary>
internal static class Machine
{
    public static JsonObject Describe()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name") ?? "unknown CPU";
        var memKb = long.TryParse(ReadField("/proc/meminfo", "MemTotal")?.Split(' ')[0], out var kb) ? kb : 0;
        var kernel = File.Exists("/proc/version") ? File.ReadAllText("/proc/version").Split(' ').Skip(2).FirstOrDefault() ?? "" : "";
        var summary = $"{cpu}, {Environment.ProcessorCount} cores, {memKb / 1024.0 / 1024.0:F1} GiB, Linux {kernel}, .NET {RuntimeInformation.FrameworkDescription}";
        return new JsonObject
        {
            ["cpu"] = cpu,
            ["cores"] = Environment.ProcessorCount,
            ["memory_kb"] = memKb,
            ["kernel"] = kernel,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["summary"] = summary,
        };
    }

    private static string? ReadField(string path, string name)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }

        return null;
    }
}
