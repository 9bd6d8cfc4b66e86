using System.Diagnostics;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S1: N idle SSE connections (Herald's WebSockets with <c>--transport ws</c>) over a number of topics; server memory per connection = (RSS with N connected −
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
        var result = new ScenarioResult("S1 idle", $"{connections:N0} idle {ctx.Target.Protocol switch { ConnectSpec.SignalR => "SignalR (WebSocket)", ConnectSpec.WebSocket => "WebSocket", ConnectSpec.Poll => "long-poll", _ => "SSE" }} connections over {topics:N0} topics, held {hold.TotalSeconds:F0} s");
        await using var progress = new ProgressLine("S1", () => "starting");

        using var channels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("idle", topics, ChannelKind.Topic, 1));
        await WarmUpAsync(ctx, topics, Math.Min(500, connections), progress);
        var rssBefore = await ctx.MedianRssKbAsync(5, TimeSpan.FromMilliseconds(400));
        var (heapBeforeGc, rssBeforeGc, typesBefore) = await CollectAsync(ctx);
        ctx.Runtime?.TakeAllocations(0);

        var subscriptions = Enumerable.Range(0, connections).Select(i => channels.Subscribe(i % topics, i / topics)).ToList();
        var (pool, connectSeconds) = await ctx.ConnectAsync(subscriptions, progress);
        await using var _ = pool;

        // Hold: sample RSS once a second during the last five seconds, CPU over the whole hold.
        var holdStart = ctx.Server.Sample();
        var machineStart = MachineSample.Read();
        ctx.Runtime?.TakeInterval();
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
        var machineEnd = MachineSample.Read();
        var allocations = ctx.Runtime?.TakeAllocations(12);
        var (heapAfterGc, rssAfterGc, typesAfter) = await CollectAsync(ctx);
        var stats = await pool.StatsAsync(null, histogram: true, reset: false);
        var serverCount = await ctx.Target.ActiveConnectionsAsync();
        var rssConnected = ScenarioContext.Median(samples);

        result.Row("connections", $"{stats.Established:N0} established, {stats.Failed:N0} failed, {stats.Closed:N0} closed during hold; server reports {(serverCount is { } n ? n.ToString("N0") : "-")}");
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
            if (heapBeforeGc is { } h0 && heapAfterGc is { } h1 && stats.Established > 0)
            {
                var rssPerGc = (rssAfterGc - rssBeforeGc) * 1024.0 / stats.Established;
                result.Row("after an induced full GC", $"RSS {rssBeforeGc / 1024.0:F1} → {rssAfterGc / 1024.0:F1} MB = {rssPerGc / 1024:F2} KB per connection; managed heap {h0 / 1048576.0:F1} → {h1 / 1048576.0:F1} MB = {(h1 - h0) / 1024.0 / stats.Established:F2} KB per connection");
                result.Set("rss_per_connection_after_gc_bytes", Math.Round(rssPerGc));
                result.Set("heap_per_connection_bytes", Math.Round((double)(h1 - h0) / stats.Established));
            }

            result.Row("server CPU while idle", $"{ProcSample.CoresBetween(a, b) * 100:F1} % of one core (heartbeats included)");
            if (machineStart is { } m0 && machineEnd is { } m1)
            {
                result.Row("machine busy during hold", $"{MachineSample.CoresBetween(m0, m1) * 100:F0}% of one core in all (server, generator and anything else)");
                result.Set("machine_busy_cores_hold", Math.Round(MachineSample.CoresBetween(m0, m1), 3));
            }

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

        ctx.RuntimeRow(result, "server runtime (hold)");
        if (allocations is { Count: > 0 })
        {
            var total = allocations.Sum(kv => kv.Value);
            result.Row("allocated while connecting", string.Join(", ", allocations.Take(8).Select(kv => $"{ShortType(kv.Key)} {kv.Value / 1024.0 / Math.Max(1, stats.Established):F2} KB")) + " per connection (sampled, top types)");
            result.Set("allocations_per_connection_bytes", new System.Text.Json.Nodes.JsonObject(allocations.Select(kv =>
                new KeyValuePair<string, System.Text.Json.Nodes.JsonNode?>(kv.Key, Math.Round((double)kv.Value / Math.Max(1, stats.Established))))));
        }

        if (typesBefore is not null && typesAfter is not null && stats.Established > 0)
        {
            var perConnection = HeapSnapshot.GrowthPer(typesBefore, typesAfter, stats.Established, 60);
            // All live objects, not only the top types: compared with the managed heap's growth it shows how much of
            // the heap per connection is objects and how much is free space between them (fragmentation).
            var liveTotal = HeapSnapshot.GrowthPer(typesBefore, typesAfter, stats.Established, int.MaxValue).Sum(x => x.Bytes);
            result.Row("live objects per connection, all types", $"{liveTotal / 1024:F2} KB");
            result.Set("live_bytes_per_connection", Math.Round(liveTotal));
            result.Row("live objects per connection", $"{perConnection.Sum(x => x.Bytes) / 1024:F2} KB in the top {perConnection.Count} types (heap snapshot after vs before; top 25 here, 60 in the JSON):");
            foreach (var (type, count, bytes) in perConnection.Take(25))
            {
                result.Row("", $"{bytes,8:F0} B  {count,5:F2} ×  {type}");
            }

            result.Set("live_objects_per_connection", new System.Text.Json.Nodes.JsonArray(perConnection.Select(x => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = x.Type,
                ["count"] = Math.Round(x.Count, 3),
                ["bytes"] = Math.Round(x.Bytes, 1),
            }).ToArray()));
        }

        result.Row("heartbeats received", $"{stats.Heartbeats:N0} comments (incl. the one each stream opens with); longest silence on a connection {stats.MaxSilenceMs / 1000.0:F1} s");
        result.Row("generator CPU", $"{(stats.CpuMs + ScenarioContext.CoordinatorCpuMs()) / 1000.0:F1} s total (workers + coordinator)");
        result.Set("heartbeats", stats.Heartbeats);
        result.Set("max_silence_ms", stats.MaxSilenceMs);
        return result;
    }

    /// <summary>
    /// Warms the very path being measured (credential check, stream, heartbeat) with a few hundred streams that
    /// come and go, so JIT-compiled code, loaded types and first-use pools are in the baseline rather than
    /// charged to the connections: the first stream alone pulls in tens of MB of code and metadata.
    /// </summary>
    public static async Task WarmUpAsync(ScenarioContext ctx, int topics, int streams, ProgressLine progress)
    {
        await ctx.Target.WarmUpAsync();
        using (var warmChannels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("warmup", topics, ChannelKind.Topic, 1)))
        {
            var (warmPool, _) = await ctx.ConnectAsync(Enumerable.Range(0, streams).Select(i => warmChannels.Subscribe(i % topics, i / topics)).ToList(), progress);
            await Task.Delay(TimeSpan.FromSeconds(1));
            await warmPool.DisposeAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(3));
    }

    // Takes a heap snapshot of the server (which induces a full GC) and returns the heap after it, the RSS a
    // moment later and the live objects by type.
    private static async Task<(long? Heap, long RssKb, Dictionary<string, (long Count, long Bytes)>? Types)> CollectAsync(ScenarioContext ctx)
    {
        if (ctx.Runtime is null || ctx.Server.Pid is not { } pid)
        {
            return (null, 0, null);
        }

        var before = ctx.Runtime.HeapStatsCount;
        var types = await HeapSnapshot.TakeAsync(pid, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        var heap = ctx.Runtime.HeapStatsCount > before ? ctx.Runtime.LastHeapBytes : (long?)null;
        return (heap, await ctx.MedianRssKbAsync(3, TimeSpan.FromMilliseconds(300)), types);
    }

    private static string ShortType(string type)
    {
        var generic = type.IndexOf('[', StringComparison.Ordinal);
        var head = generic < 0 ? type : type[..generic];
        var dot = head.LastIndexOf('.');
        return dot < 0 ? type : type[(dot + 1)..];
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
