using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Scenarios;
using Herald.Bench.Targets;

namespace Herald.Bench;

/// <summary>Runs the load scenarios, each against its own freshly started server, and writes the report.</summary>
internal static class LoadRunner
{
    public static readonly Dictionary<string, (string Name, Func<ScenarioContext, Task<ScenarioResult>> Run)> Scenarios = new(StringComparer.OrdinalIgnoreCase)
    {
        ["s1"] = ("s1", IdleScenario.RunAsync),
        ["idle"] = ("s1", IdleScenario.RunAsync),
        ["s2"] = ("s2", BroadcastScenario.RunAsync),
        ["broadcast"] = ("s2", BroadcastScenario.RunAsync),
        ["s3"] = ("s3", ChatScenario.RunAsync),
        ["chat"] = ("s3", ChatScenario.RunAsync),
        ["chatwrite"] = ("chatwrite", ChatWriteScenario.RunAsync),
    };

    // Herald-only scenarios that start their own servers: S4 two nodes with PostgreSQL and Redis, S5 one with a
    // short heartbeat, S6 three nodes with PostgreSQL and Redis.
    private static readonly Dictionary<string, Func<BenchOptions, Task<ScenarioResult>>> SelfHosted = new(StringComparer.OrdinalIgnoreCase)
    {
        ["s4"] = ScaleOutScenario.RunAsync,
        ["scale-out"] = ScaleOutScenario.RunAsync,
        ["s5"] = CapacityScenario.RunAsync,
        ["capacity"] = CapacityScenario.RunAsync,
        ["s6"] = ClusterScenario.RunAsync,
        ["cluster"] = ClusterScenario.RunAsync,
    };

    public static async Task<int> RunAsync(string scenario, BenchOptions options)
    {
        var names = scenario.Equals("all", StringComparison.OrdinalIgnoreCase) ? ["s1", "s2", "s3"] : new[] { scenario };
        if (names.Any(n => !Scenarios.ContainsKey(n) && !SelfHosted.ContainsKey(n)))
        {
            await Console.Error.WriteLineAsync($"Unknown scenario '{scenario}'.\n\n{BenchOptions.Usage}");
            return 2;
        }

        // --via mercure: the same scenario through Herald's Mercure hub (/.well-known/mercure) instead of Herald's own
        // endpoints; only for the scenarios that run against any target (S1-S3), not Herald's chat-only or self-hosted ones.
        var via = options.String("via") ?? "herald";
        var target = via switch
        {
            "herald" => "herald",
            "mercure" => MercureTarget.TargetName,
            _ => null,
        };
        if (target is null || (target != "herald" && names.Any(n => !Scenarios.TryGetValue(n, out var s) || s.Name is not ("s1" or "s2" or "s3"))))
        {
            await Console.Error.WriteLineAsync(target is null
                ? $"Unknown --via '{via}' (herald or mercure)."
                : "--via mercure runs s1, s2 and s3 (and all); chatwrite, s4 and s5 are Herald's own endpoints only.");
            return 2;
        }

        var limits = Native.RaiseOpenFilesLimit();
        var machine = Machine.Describe();
        Console.WriteLine($"machine: {machine["summary"]}; open files limit {limits.Soft}/{limits.Hard} per process");
        var results = new List<ScenarioResult>();
        var failed = false;
        foreach (var name in names)
        {
            try
            {
                results.Add(SelfHosted.TryGetValue(name, out var selfHosted) ? await selfHosted(options) : await RunOneAsync(Scenarios[name].Run, target, options));
                Console.WriteLine(results[^1].Render());
            }
            catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or IOException or TimeoutException)
            {
                failed = true;
                await Console.Error.WriteLineAsync($"\n{name} failed: {ex.Message}");
            }
        }

        if (results.Count > 0)
        {
            PrintSummary(results);
            var path = WriteJson(options, machine, limits, results);
            Console.WriteLine($"JSON report: {path}");
        }

        return failed ? 1 : 0;
    }

    /// <summary>Starts <paramref name="targetName"/> afresh, runs one scenario against it, stops it.</summary>
    public static async Task<ScenarioResult> RunOneAsync(Func<ScenarioContext, Task<ScenarioResult>> run, string targetName, BenchOptions options)
    {
        await using var target = await BenchTargets.StartAsync(targetName, options);
        var monitor = target.IsDotNet && target.Server.Pid is { } serverPid && !options.Flag("no-runtime-monitor") ? RuntimeMonitor.TryStart(serverPid) : null;
        ScenarioResult result;
        try
        {
            result = await run(new ScenarioContext(options, target, monitor));
        }
        finally
        {
            if (monitor is not null)
            {
                await monitor.DisposeAsync();
            }
        }

        result.Target = target.Name;
        result.TargetDescription = target.Description;
        if (target is not HeraldTarget)
        {
            // The targets of issues 2 and 8 are Herald's; the others are measured to compare with.
            result.Checks.Clear();
        }

        if (target.Server.LogFile is { } log && options.Flag("keep-data"))
        {
            result.Notes.Add($"server log: {log}");
        }

        return result;
    }

    private static void PrintSummary(List<ScenarioResult> results)
    {
        var checks = results.SelectMany(r => r.Checks).ToList();
        if (checks.Count == 0)
        {
            return;
        }

        var table = new List<string[]> { new[] { "figure", "measured", "target", "met" } };
        table.AddRange(checks.Select(c => new[] { c.Figure, c.Measured, c.Target, c.Met ? "yes" : "NO" }));
        var sb = new StringBuilder();
        sb.AppendLine("== Targets");
        ScenarioResult.AppendTable(sb, table, "  ");
        Console.WriteLine(sb.ToString());
    }

    public static string WriteJson(BenchOptions options, JsonObject machine, (ulong Soft, ulong Hard) limits, List<ScenarioResult> results, JsonObject? comparison = null)
    {
        var path = options.String("out") ?? Path.Combine(RepoRoot(), "artifacts", "bench", $"{(comparison is null ? "bench" : "compare")}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var root = new JsonObject
        {
            // When the bench process started and when this report was written. (Reports before 2026-12-02 have only
            // "started_utc", and it holds the time of writing.)
            ["started_utc"] = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
            ["finished_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["command_line"] = Environment.CommandLine,
            ["machine"] = machine,
            ["open_files_limit"] = new JsonObject { ["soft"] = limits.Soft, ["hard"] = limits.Hard },
            ["scenarios"] = new JsonArray(results.Select(r =>
            {
                var o = (JsonObject)r.Json.DeepClone();
                o["name"] = r.Name;
                o["target"] = r.Target;
                o["title"] = r.Title;
                o["targets"] = new JsonArray(r.Checks.Select(c => (JsonNode)new JsonObject
                {
                    ["figure"] = c.Figure,
                    ["measured"] = c.Measured,
                    ["target"] = c.Target,
                    ["met"] = c.Met,
                }).ToArray());
                return (JsonNode)o;
            }).ToArray()),
        };
        if (comparison is not null)
        {
            root["comparison"] = comparison;
        }

        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    /// <summary>The repository root: the nearest directory above the binary that holds Herald.slnx.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
