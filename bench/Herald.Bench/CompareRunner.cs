using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench;

/// <summary>
/// <c>compare</c>: each scenario against each target in turn (S1 on Herald, Nchan, SignalR; then S2 on each;
/// then S3), every run against a freshly started server, so that drift of the shared machine falls on all three
/// alike. Then one table with each figure for every target and Herald's ratio to each, issue 8's targets, the
/// JSON report and an SVG chart.
/// </summary>
internal static class CompareRunner
{
    /// <summary>A figure read from a scenario's JSON; ratios are Herald ÷ other whichever way is better.</summary>
    private sealed record Figure(string Scenario, string Label, Func<JsonObject, double?> Read, int Decimals, bool LowerIsBetter);

    private static readonly Figure[] Figures =
    [
        new("s1", "server RSS per idle connection, KB", j => Number(j, "rss_per_connection_bytes") / 1024, 2, true),
        // Exact where RSS is not (the collector's committed free space moves it by ±1.5 KB): .NET targets only.
        new("s1", "live objects per idle connection (heap snapshot), KB", j => Number(j, "live_bytes_per_connection") / 1024, 2, true),
        new("s1", "connections held (established − closed)", j => Number(j, "connections") - Number(j, "closed"), 0, false),
        new("s1", "connect time, s", j => Number(j, "connect_seconds"), 1, true),
        new("s1", "server CPU while idle, % of one core", j => Number(j, "server_cpu_idle_cores") * 100, 1, true),
        new("s1", "longest silence on a connection, s", j => Number(j, "max_silence_ms") / 1000, 1, true),
        new("s2", "best deliveries/s at p99 < 100 ms, nothing lost", j => Number(j, "best_deliveries_per_second"), 0, false),
        new("s2", "server CPU µs per delivery at 40,000 deliveries/s", j => Number(j, "reference_us_per_delivery"), 2, true),
        new("s2", "p99 at 40,000 deliveries/s, ms", j => Number(j, "reference_p99_us") / 1000, 2, true),
        new("s3", "p50, ms", j => Number(j, "latency", "p50_us") / 1000, 2, true),
        new("s3", "p90, ms", j => Number(j, "latency", "p90_us") / 1000, 2, true),
        new("s3", "p99, ms", j => Number(j, "latency", "p99_us") / 1000, 2, true),
        new("s3", "p99.9, ms", j => Number(j, "latency", "p999_us") / 1000, 2, true),
        new("s3", "max, ms", j => Number(j, "latency", "max_us") / 1000, 1, true),
        new("s3", "lost", j => Number(j, "lost"), 0, true),
        new("s3", "duplicated", j => Number(j, "duplicated"), 0, true),
        new("s3", "deliveries/s", j => Number(j, "deliveries_per_second"), 0, false),
        new("s3", "server CPU µs per delivery (incl. the publish request)", j => Number(j, "server_cpu_us_per_delivery"), 2, true),
    ];

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var targets = options.List("targets", BenchTargets.Names).Select(t => t.ToLowerInvariant()).ToArray();
        var scenarios = options.List("scenarios", ["s1", "s2", "s3"])
            .Select(s => LoadRunner.Scenarios.TryGetValue(s, out var known) ? known.Name : s).ToArray();
        var unknown = targets.Except(BenchTargets.Names).Concat(scenarios.Where(s => !LoadRunner.Scenarios.ContainsKey(s))).ToList();
        if (unknown.Count > 0 || options.String("url") is not null)
        {
            await Console.Error.WriteLineAsync(unknown.Count > 0
                ? $"Unknown target or scenario: {string.Join(", ", unknown)}.\n\n{BenchOptions.Usage}"
                : "compare starts every server itself; --url is for single scenarios.");
            return 2;
        }

        // Issue 8's S1 is 20,000 connections (the single-scenario default stays 10,000) — but every server
        // needs a few descriptors of its own besides them, so where the per-process limit is 20,000 (these
        // machines) S1 holds 1,000 fewer than the limit, or no server could pass.
        var limits = Native.RaiseOpenFilesLimit();
        options.Default("connections", Math.Min(20_000UL, limits.Hard - 1_000).ToString(CultureInfo.InvariantCulture));
        var machine = Machine.Describe();
        Console.WriteLine($"machine: {machine["summary"]}; open files limit {limits.Soft}/{limits.Hard} per process");
        Console.WriteLine($"compare: {string.Join(", ", scenarios)} × {string.Join(", ", targets)}");
        var results = new List<ScenarioResult>();
        var failed = false;
        // The main runs are SSE and steady state whatever --transport/--storm say; those are the variants' own runs.
        var steady = options.With("storm", "false").With("transport", "sse");
        var variants = Variants(options, targets, scenarios);
        foreach (var scenario in scenarios)
        {
            var runs = targets.Select(t => (Target: t, Variant: "", Options: steady))
                .Concat(variants.Where(v => v.Scenario == scenario).Select(v => (v.Target, v.Variant, v.Options)));
            foreach (var (target, variant, runOptions) in runs)
            {
                try
                {
                    var result = await LoadRunner.RunOneAsync(LoadRunner.Scenarios[scenario].Run, target, runOptions);
                    if (variant.Length > 0)
                    {
                        result.Target = $"{target}@{variant}";
                    }

                    results.Add(result);
                    Console.WriteLine(results[^1].Render());
                }
                catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or IOException or TimeoutException)
                {
                    failed = true;
                    await Console.Error.WriteLineAsync($"\n{scenario}{(variant.Length > 0 ? " " + variant : "")} on {target} failed: {ex.Message}");
                }
            }
        }

        if (results.Count == 0)
        {
            return 1;
        }

        var comparison = Compare(results, targets, scenarios);
        Console.WriteLine(comparison.Text);
        var svg = options.String("svg") ?? Path.Combine(LoadRunner.RepoRoot(), "docs", "benchmarks.svg");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(svg))!);
        await File.WriteAllTextAsync(svg, CompareChart.Render(results, targets, $"{machine["summary"]}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Sizes(options)}"));
        comparison.Json["svg"] = svg;
        Console.WriteLine($"chart: {svg}");
        Console.WriteLine($"JSON report: {LoadRunner.WriteJson(options, machine, limits, results, comparison.Json)}");
        return failed ? 1 : 0;
    }

    /// <summary>
    /// Extra runs after a scenario's main ones, reported as rows of their own (target <c>name@variant</c>): Herald's S1
    /// over WebSocket, S3 over WebSocket and long polling (<c>--herald-transports</c>, default <c>ws,poll</c>), and with
    /// <c>--storm</c> S3's reconnect-storm variant on every target.
    /// </summary>
    private static List<(string Scenario, string Target, string Variant, BenchOptions Options)> Variants(BenchOptions options, string[] targets, string[] scenarios)
    {
        var variants = new List<(string, string, string, BenchOptions)>();
        if (targets.Contains("herald"))
        {
            foreach (var transport in options.List("herald-transports", ["ws", "poll"]).Where(t => t is "ws" or "poll"))
            {
                foreach (var scenario in scenarios.Where(s => s == "s3" || (s == "s1" && transport == "ws")))
                {
                    variants.Add((scenario, "herald", transport, options.With("storm", "false").With("transport", transport)));
                }
            }
        }

        if (options.Flag("storm") && scenarios.Contains("s3"))
        {
            variants.AddRange(targets.Select(t => ("s3", t, "storm", options.With("storm", "true").With("transport", "sse"))));
        }

        return variants;
    }

    private static (string Text, JsonObject Json) Compare(List<ScenarioResult> results, string[] targets, string[] scenarios)
    {
        var others = targets.Where(t => t != "herald").ToArray();
        var withHerald = targets.Contains("herald");
        var header = new List<string> { "scenario", "figure" };
        header.AddRange(targets);
        if (withHerald)
        {
            header.AddRange(others.Select(o => $"herald/{o}"));
        }

        header.Add("better");
        var table = new List<string[]> { header.ToArray() };
        var figures = new JsonArray();
        // The main rows, then each variant's (S1 ws, S3 ws, S3 poll, S3 storm) where it ran.
        var variantNames = results.Select(r => r.Target.IndexOf('@') is var at and > 0 ? r.Target[(at + 1)..] : "").Distinct().ToList();
        var rows = variantNames.OrderBy(v => v.Length > 0).SelectMany(variant => Figures
            .Where(f => scenarios.Contains(f.Scenario) && (variant.Length == 0 || targets.Any(t => Find(results, f.Scenario, $"{t}@{variant}") is not null)))
            .Select(f => (Figure: f, Variant: variant)))
            .OrderBy(x => Array.IndexOf(scenarios, x.Figure.Scenario)).ToList();
        foreach (var (figure, variant) in rows)
        {
            var suffix = variant.Length > 0 ? "@" + variant : "";
            var values = targets.ToDictionary(t => t, t => Find(results, figure.Scenario, t + suffix) is { } r ? figure.Read(r.Json) : null);
            var row = new List<string> { figure.Scenario.ToUpperInvariant() + (variant.Length > 0 ? " " + variant : ""), figure.Label };
            row.AddRange(targets.Select(t => values[t] is { } v ? v.ToString("N" + figure.Decimals, CultureInfo.InvariantCulture) : "-"));
            var ratios = new JsonObject();
            if (withHerald)
            {
                foreach (var other in others)
                {
                    var ratio = values["herald"] is { } h && values[other] is { } o && o != 0 ? h / o : (double?)null;
                    row.Add(ratio is { } x ? x.ToString(x < 10 ? "0.00" : "N1", CultureInfo.InvariantCulture) + "×" : "-");
                    ratios[$"herald/{other}"] = ratio is { } y ? Math.Round(y, 4) : null;
                }
            }

            row.Add(figure.LowerIsBetter ? "lower" : "higher");
            table.Add(row.ToArray());
            figures.Add(new JsonObject
            {
                ["scenario"] = figure.Scenario,
                ["variant"] = variant.Length > 0 ? variant : null,
                ["figure"] = figure.Label,
                ["lower_is_better"] = figure.LowerIsBetter,
                ["values"] = new JsonObject(values.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value is { } v ? Math.Round(v, 4) : null))),
                ["ratios"] = ratios,
            });
        }

        var checks = Checks(results);
        var sb = new StringBuilder();
        sb.AppendLine("== Comparison (each target started fresh per scenario; ratios are Herald ÷ the other)");
        ScenarioResult.AppendTable(sb, table, "  ");
        if (checks.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("== Targets of issue 8");
            var checkTable = new List<string[]> { new[] { "figure", "measured", "target", "met" } };
            checkTable.AddRange(checks.Select(c => new[] { c.Figure, c.Measured, c.Target, c.Met ? "yes" : "NO" }));
            ScenarioResult.AppendTable(sb, checkTable, "  ");
        }

        var json = new JsonObject
        {
            ["targets"] = new JsonArray(targets.Select(t => (JsonNode)t).ToArray()),
            ["figures"] = figures,
            ["targets_of_issue_8"] = new JsonArray(checks.Select(c => (JsonNode)new JsonObject
            {
                ["figure"] = c.Figure,
                ["measured"] = c.Measured,
                ["target"] = c.Target,
                ["met"] = c.Met,
            }).ToArray()),
        };
        return (sb.ToString(), json);
    }

    private static List<TargetCheck> Checks(List<ScenarioResult> results)
    {
        var checks = new List<TargetCheck>();
        if (Find(results, "s1", "herald") is { } s1 && Number(s1.Json, "rss_per_connection_bytes") is { } bytes)
        {
            checks.Add(new TargetCheck("S1 server memory per idle connection", $"{bytes / 1024:F2} KB", "≤ 8 KB", bytes <= 8 * 1024));
        }

        if (Find(results, "s2", "herald") is { } s2)
        {
            var best = Number(s2.Json, "best_deliveries_per_second") ?? 0;
            foreach (var (other, factor) in new[] { ("nchan", 5.0), ("signalr", 2.0) })
            {
                if (Find(results, "s2", other) is { } o && Number(o.Json, "best_deliveries_per_second") is { } theirs)
                {
                    checks.Add(new TargetCheck($"S2 deliveries/s vs {other}", $"{best:N0}/s vs {theirs:N0}/s ({(theirs == 0 ? "-" : (best / theirs).ToString("F2", CultureInfo.InvariantCulture))}×)",
                        $"≥ {factor:F0}× {other}", theirs > 0 ? best >= factor * theirs : best > 0));
                }
            }

            if (Number(s2.Json, "reference_us_per_delivery") is { } micros)
            {
                checks.Add(new TargetCheck("S2 server CPU per delivery at 40,000/s", $"{micros:F2} µs", "≤ 5 µs", micros <= 5));
            }
        }

        if (Find(results, "s3", "herald") is { } s3 && Number(s3.Json, "latency", "p99_us") is { } p99)
        {
            var lost = Number(s3.Json, "lost") ?? 0;
            var dup = Number(s3.Json, "duplicated") ?? 0;
            var nchanP99 = Find(results, "s3", "nchan") is { } n ? Number(n.Json, "latency", "p99_us") : null;
            checks.Add(new TargetCheck("S3 p99, lost, duplicated", $"p99 {p99 / 1000:F2} ms, {lost:N0} lost, {dup:N0} dup",
                nchanP99 is { } np ? $"p99 ≤ {np / 1000 + 2:F2} ms (Nchan's + 2 ms), 0 lost, 0 dup" : "p99 ≤ Nchan's + 2 ms (Nchan not run), 0 lost, 0 dup",
                nchanP99 is { } limit && p99 <= limit + 2000 && lost == 0 && dup == 0));
        }

        // Live objects (exact) where both runs have them, else RSS.
        var bytesKey = results.Any(r => r.Json["live_bytes_per_connection"] is not null) ? "live_bytes_per_connection" : "rss_per_connection_bytes";
        if (Find(results, "s1", "herald") is { } sse && Find(results, "s1", "herald@ws") is { } ws
            && Number(sse.Json, bytesKey) is { } sseBytes && Number(ws.Json, bytesKey) is { } wsBytes)
        {
            checks.Add(new TargetCheck($"S1 {(bytesKey == "live_bytes_per_connection" ? "live objects" : "RSS")} per idle WebSocket vs per idle SSE stream (issue 22 item 3)",
                $"{wsBytes / 1024:F2} KB vs {sseBytes / 1024:F2} KB", "WebSocket ≤ SSE", wsBytes <= sseBytes));
        }

        if (Find(results, "s3", "herald@storm") is { } storm && Find(results, "s3", "nchan@storm") is { } nchanStorm
            && Number(storm.Json, "latency", "p99_us") is { } sp99 && Number(storm.Json, "latency", "p999_us") is { } sp999
            && Number(nchanStorm.Json, "latency", "p99_us") is { } np99 && Number(nchanStorm.Json, "latency", "p999_us") is { } np999)
        {
            checks.Add(new TargetCheck("S3 storm variant p99, p99.9 (issue 22 item 5)", $"p99 {sp99 / 1000:F2} ms, p99.9 {sp999 / 1000:F2} ms",
                $"p99 ≤ {np99 / 1000 + 2:F2} ms (Nchan's + 2 ms), p99.9 ≤ {2 * np999 / 1000:F2} ms (2× Nchan's)", sp99 <= np99 + 2000 && sp999 <= 2 * np999));
        }

        return checks;
    }

    public static ScenarioResult? Find(List<ScenarioResult> results, string scenario, string target) =>
        results.LastOrDefault(r => r.Target == target && r.Name.StartsWith(scenario, StringComparison.OrdinalIgnoreCase));

    public static double? Number(JsonObject json, params string[] path)
    {
        JsonNode? node = json;
        foreach (var key in path)
        {
            node = node is JsonObject o ? o[key] : null;
        }

        if (node is not JsonValue value)
        {
            return null;
        }

        return value.TryGetValue<double>(out var d) ? d
            : value.TryGetValue<long>(out var l) ? l
            : value.TryGetValue<int>(out var i) ? i
            : null;
    }

    private static string Sizes(BenchOptions options) =>
        $"S1 {options.Int("connections", 19_000):N0} connections / {options.Int("topics", 1_000):N0} topics; " +
        $"S2 {options.Int("subscribers", 2_000):N0} subscribers; S3 {options.Int("dialogs", 5_000):N0} dialogs × {options.Int("per-dialog", 2)}, " +
        $"{options.Double("rate", 1000):N0} msg/s for {options.Double("duration", 20):N0} s";
}
