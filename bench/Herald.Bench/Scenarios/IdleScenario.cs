using System.Diagnostics;
using Herald.Bench.Load;
using Herald.Bench.Report;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S1: N idle SSE connections over a number of topics; server memory per connection = (RSS with N connected −
/// RSS before) / N, each RSS the median of several samples (the server's GC cannot be forced from outside).
/// The hold spans at least one heartbeat interval so heartbeat writes are part of the picture.
/// </summary>
internal static class IdleScenario
{
    public static async Task<ScenarioResult> RunAsync(ScenarioContext ctx)
    {
        var connections = ctx.Options.Int("connections", 10_000);
        var topics = Math.Max(1, ctx.Options.Int("topics", 1_000));
        var hold = ctx.Options.Seconds("hold", 20);
        var result = new ScenarioResult("S1 idle", $"{connections:N0} idle SSE connections over {topics:N0} topics, held {hold.TotalSeconds:F0} s");
        await using var progress = new ProgressLine("S1", () => "starting");

        var token = await ctx.Api.LoginAsync();
        // Warm the request path once so JIT and first-use allocations are in the baseline, not per connection.
        for (var i = 0; i < 20; i++)
        {
            await ctx.Api.GetJsonAsync("/api/sse/stats");
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        var rssBefore = await ctx.MedianRssKbAsync(5, TimeSpan.FromMilliseconds(400));

        var subscriptions = Enumerable.Range(0, connections)
            .Select(i => new Subscription($"/api/events?topic=idle-{i % topics}&token={token}", i % topics))
            .ToList();
        var (pool, connectSeconds) = await ctx.ConnectAsync(subscriptions, progress);
        await using var _ = pool;

        // Hold: sample RSS once a second during the last five seconds, CPU over the whole hold.
        var holdStart = ctx.Server.Sample();
        var holdStarted = Stopwatch.GetTimestamp();
        var samples = new List<long>();
        progress.SetStatus(() => ctx.Status(pool, "holding"));
        while (Stopwatch.GetElapsedTime(holdStarted) < hold)
        {
            await Task.Delay(1000);
            if (hold - Stopwatch.GetElapsedTime(holdStarted) < TimeSpan.FromSeconds(5.5) && ctx.Server.Sample() is { } s)
            {
                samples.Add(s.RssKb);
            }
        }

        var holdEnd = ctx.Server.Sample();
        var stats = await pool.StatsAsync(null, histogram: true, reset: false);
        var serverCount = (await ctx.Api.GetJsonAsync("/api/sse/stats")).GetProperty("active_connections").GetInt32();
        var rssConnected = ScenarioContext.Median(samples);

        result.Row("connections", $"{stats.Established:N0} established, {stats.Failed:N0} failed, {stats.Closed:N0} closed during hold; server reports {serverCount:N0}");
        result.Row("connect time", $"{connectSeconds:F1} s ({stats.Established / Math.Max(connectSeconds, 0.001):N0}/s)");
        result.Latency("connect latency", "connect_latency", stats.ConnectLatency);
        result.Set("connections", stats.Established);
        result.Set("failed", stats.Failed);
        result.Set("closed", stats.Closed);
        result.Set("server_active_connections", serverCount);
        result.Set("connect_seconds", Math.Round(connectSeconds, 2));
        FailureNotes(result, stats);

        if (holdStart is { } a && holdEnd is { } b && rssBefore > 0)
        {
            var perConnection = stats.Established == 0 ? 0 : (rssConnected - rssBefore) * 1024.0 / stats.Established;
            result.Row("server RSS", $"{rssBefore / 1024.0:F1} MB before, {rssConnected / 1024.0:F1} MB with {stats.Established:N0} connected (medians)");
            result.Row("RSS per connection", $"{perConnection / 1024:F2} KB");
            result.Row("server CPU while idle", $"{ProcSample.CoresBetween(a, b) * 100:F1} % of one core (heartbeats included)");
            result.Set("rss_before_kb", rssBefore);
            result.Set("rss_connected_kb", rssConnected);
            result.Set("rss_per_connection_bytes", Math.Round(perConnection));
            result.Set("server_cpu_idle_cores", Math.Round(ProcSample.CoresBetween(a, b), 4));
            result.Checks.Add(new TargetCheck("S1 server memory per idle connection", $"{perConnection / 1024:F2} KB", "≤ 10 KB (issue 2); ≤ 8 KB (issue 8)",
                perConnection <= 10 * 1024 && stats.Failed == 0 && stats.Closed == 0));
        }
        else
        {
            result.Notes.Add("no server PID: RSS and CPU not measured (pass --server-pid with --url)");
        }

        result.Row("heartbeats received", $"{stats.Heartbeats:N0} comments (incl. the one each stream opens with); longest silence on a connection {stats.MaxSilenceMs / 1000.0:F1} s");
        result.Row("generator CPU", $"{(stats.CpuMs + ScenarioContext.CoordinatorCpuMs()) / 1000.0:F1} s total (workers + coordinator)");
        result.Set("heartbeats", stats.Heartbeats);
        result.Set("max_silence_ms", stats.MaxSilenceMs);
        return result;
    }

    public static void FailureNotes(ScenarioResult result, PoolStats stats)
    {
        if (stats.Failures.Count > 0)
        {
            result.Notes.Add("connection failures/ends: " + string.Join(", ", stats.Failures.Select(kv => $"{kv.Key} ×{kv.Value}")));
            result.Set("failures", new System.Text.Json.Nodes.JsonObject(stats.Failures.Select(kv =>
                new KeyValuePair<string, System.Text.Json.Nodes.JsonNode?>(kv.Key, kv.Value))));
        }
    }
}
