using System.Diagnostics;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S3: chat-like. D dialogs, each watched by two subscribers, messages at a fixed rate spread round-robin over the
/// dialogs. On Herald each dialog is watched by its guest (widget, <c>assistant_id</c>+<c>guest_id</c>) and an
/// operator (JWT) stream, and guests post through the real <c>POST /api/widget/dialogs/{id}/messages</c> (stored
/// in SQLite before delivery); Nchan and SignalR get a channel (group) per dialog and their publish endpoint.
/// Latency is from just before the POST is sent to the moment a subscriber's read returns the event. The same
/// steps run S4 (<see cref="ScaleOutScenario"/>) with the subscribers spread over several nodes (<see cref="ChatLayout"/>).
/// </summary>
internal static class ChatScenario
{
    public static Task<ScenarioResult> RunAsync(ScenarioContext ctx) => RunAsync(ChatLayout.SingleNode(ctx));

    // "over WebSocket " / "long-polling " in the title when Herald's subscribers do not use SSE.
    private static string Transport(ScenarioContext ctx) => ctx.Target.Protocol switch
    {
        ConnectSpec.WebSocket => "WebSocket ",
        ConnectSpec.Poll => "long-polling ",
        _ => "",
    };

    public static async Task<ScenarioResult> RunAsync(ChatLayout layout)
    {
        var ctx = layout.Publisher;
        var dialogs = ctx.Options.Int("dialogs", 5_000);
        var perDialog = Math.Clamp(ctx.Options.Int("per-dialog", 2), 1, 2);
        var rate = ctx.Options.Double("rate", 1000);
        var duration = ctx.Options.Seconds("duration", 20);
        // --storm (issue 22 item 5): a rolling restart's first seconds — a short warm-up of POSTs before anyone is
        // connected, then every subscriber connects at once and the window starts as the last one is in, with no
        // settling GC. Otherwise steady state, not start-up: tiered JIT needs well over a few seconds of traffic
        // (see BroadcastScenario).
        var storm = ctx.Options.Flag("storm");
        var warmup = ctx.Options.Seconds("warmup", storm ? 3 : 10);
        var publishers = ctx.Options.Int("publishers", 16);
        var result = new ScenarioResult(layout.Name, $"{dialogs:N0} dialogs × {perDialog} {Transport(ctx)}subscribers, {rate:N0} messages/s for {duration.TotalSeconds:F0} s {layout.Through}"
            + (storm ? $"; storm variant: {warmup.TotalSeconds:F0} s warm-up, then every subscriber at once, measured at once, no settling GC" : ""));
        result.Set("transport", HeraldTarget.Transport(ctx.Options));
        result.Set("storm", storm);
        await using var progress = new ProgressLine(layout.ShortName, () => "setting up dialogs");

        using var channels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("dialog", dialogs, ChannelKind.Dialog, publishers));
        if (channels.SetupSummary.Length > 0)
        {
            result.Row("setup", channels.SetupSummary);
        }

        var subscriptions = layout.Nodes.Select(_ => new List<Subscription>(dialogs * perDialog / layout.Nodes.Count + 1)).ToArray();
        for (var i = 0; i < dialogs; i++)
        {
            for (var k = 0; k < perDialog; k++)
            {
                subscriptions[layout.NodeOf(i, k)].Add(channels.Subscribe(i, k));
            }
        }

        var published = new long[dialogs];
        // The measured window's POSTs: when each one sent (its message's timestamp) returned, for the tail attribution.
        Dictionary<long, long>? postEnds = null;
        var nextSeq = new long[dialogs];
        long sequence = 0;
        async Task<bool> Send(long _)
        {
            var n = Interlocked.Increment(ref sequence) - 1;
            var dialog = (int)(n % dialogs);
            var seq = Interlocked.Increment(ref nextSeq[dialog]) - 1;
            var sent = Stopwatch.GetTimestamp();
            var ok = await channels.PublishAsync(dialog, $"bench:{dialog}:{seq}:{sent}");
            if (ok)
            {
                Interlocked.Increment(ref published[dialog]);
            }

            if (postEnds is { } ends)
            {
                var end = Stopwatch.GetTimestamp();
                lock (ends)
                {
                    ends[sent] = end;
                }
            }

            return ok;
        }

        if (storm && warmup > TimeSpan.Zero)
        {
            progress.SetStatus(() => "warm-up (no subscribers yet)");
            await Pacer.RunAsync(rate, warmup, publishers * 8, Send, CancellationToken.None);
            // Nobody was connected to receive these: they are not expected of the subscribers that come now.
            Array.Clear(published);
        }

        var (pool, connectSeconds) = await NodePools.ConnectAsync(layout.Nodes, subscriptions, progress);
        await using var _ = pool;
        var connected = pool.Progress();
        result.Row("connections", $"{connected.Established:N0} established, {connected.Failed:N0} failed, in {connectSeconds:F1} s"
            + (layout.Nodes.Count > 1 ? " (" + string.Join(", ", layout.Nodes.Select((n, i) => $"{subscriptions[i].Count:N0} on {n.Name}")) + ")" : ""));
        result.Set("connections", connected.Established);
        result.Set("connect_seconds", Math.Round(connectSeconds, 2));

        foreach (var node in layout.Nodes)
        {
            await node.Context.SettleAsync(result, node.Label, node.Key);
        }

        if (!storm)
        {
            await Task.Delay(1000);
        }

        if (!storm && warmup > TimeSpan.Zero)
        {
            progress.SetStatus(() => pool.Status("warm-up"));
            await Pacer.RunAsync(rate, warmup, publishers * 8, Send, CancellationToken.None);
        }

        var (before, beforeByNode) = await pool.DrainAsync(published, histogram: false, reset: true, TimeSpan.FromSeconds(10), keepDeliveries: true);
        progress.SetStatus(() => pool.Status($"{rate:N0} msg/s"));
        var cpu0 = layout.Nodes.Select(n => n.Context.Server.Sample()).ToArray();
        var machine0 = MachineSample.Read();
        var gen0 = before.CpuMs + ScenarioContext.CoordinatorCpuMs();
        foreach (var node in layout.Nodes)
        {
            node.Context.Runtime?.TakeInterval();
            node.Context.Runtime?.TakeAllocations(0);
        }

        // --heap-diff: what the publishing node keeps of the window's messages (live objects after a full
        // collection, before and after; the snapshots themselves collect, so latency figures of such a run are off).
        var heapPid = ctx.Options.Flag("heap-diff") ? ctx.Server.Pid : null;
        var heapBefore = heapPid is { } pid ? await HeapSnapshot.TakeAsync(pid, TimeSpan.FromSeconds(60)) : null;
        // Herald's writer serves its chat POST and its Mercure hub alike; the request histogram is the publish route's.
        var (herald, postRoute) = ctx.Target switch
        {
            HeraldTarget h => (h, WriterMetrics.ChatRoute),
            MercureTarget m => (m.Herald, WriterMetrics.MercureRoute),
            _ => ((HeraldTarget?)null, ""),
        };
        var writer0 = herald is null ? null : await WriterMetrics.ScrapeAsync(herald.Api, postRoute);
        postEnds = new Dictionary<long, long>((int)Math.Min(rate * duration.TotalSeconds * 1.1, 10_000_000));
        var windowStart = Stopwatch.GetTimestamp();
        var pace = await Pacer.RunAsync(rate, duration, publishers * 8, Send, CancellationToken.None);
        var windowEnd = Stopwatch.GetTimestamp();
        var writer1 = herald is null ? null : await WriterMetrics.ScrapeAsync(herald.Api, postRoute);
        var heapAfter = heapBefore is null ? null : await HeapSnapshot.TakeAsync(heapPid!.Value, TimeSpan.FromSeconds(60));
        var cpu1 = layout.Nodes.Select(n => n.Context.Server.Sample()).ToArray();
        var machine1 = MachineSample.Read();
        progress.SetStatus(() => pool.Status("draining"));
        var (after, afterByNode) = await pool.DrainAsync(published, histogram: true, reset: false, TimeSpan.FromSeconds(15));

        var expected = after.Expected - before.Expected;
        var received = after.Received - before.Received;
        var dup = after.Duplicates - before.Duplicates;
        var lost = Math.Max(0, expected - received);
        var seconds = pace.Elapsed.TotalSeconds;
        var nodeCpuMs = cpu0.Zip(cpu1, (a, b) => a is { } s0 && b is { } s1 ? s1.CpuMs - s0.CpuMs : 0).ToArray();
        var serverCpuMs = nodeCpuMs.Sum();
        var genCpuMs = after.CpuMs + ScenarioContext.CoordinatorCpuMs() - gen0;

        result.Row("messages", $"{pace.Issued:N0} posted in {seconds:F1} s ({pace.Succeeded / seconds:N0}/s), {pace.Failed:N0} failed, pacer at most {pace.MaxBehind} behind");
        result.Latency("POST round trip", "post_round_trip", pace.RoundTrip);
        result.Row("deliveries", $"{expected:N0} expected, {received:N0} received, {lost:N0} lost, {dup:N0} duplicated, {after.Misrouted:N0} misrouted, {after.OutOfOrder:N0} out of order");
        result.Row("deliveries/s", ScenarioResult.F(received / seconds, 0));
        result.Latency("publish → receive", "latency", after.Latency);
        if (layout.Nodes.Count == 1 && cpu1[0] is { } end)
        {
            result.Row("server", $"CPU {serverCpuMs / 10.0 / seconds:F0}% of one core, {(received == 0 ? 0 : serverCpuMs * 1000.0 / received):F1} µs per delivery (incl. the publish request{(herald is not null ? " and SQLite" : "")}), RSS {end.RssKb / 1024.0:F0} MB");
        }
        else if (layout.Nodes.Count > 1)
        {
            NodeRows(result, layout, beforeByNode, afterByNode, nodeCpuMs, cpu1, seconds);
            result.Row("servers", $"CPU {serverCpuMs / 10.0 / seconds:F0}% of one core together, {(received == 0 ? 0 : serverCpuMs * 1000.0 / received):F1} µs per delivery (incl. the POST{(layout.Services is { } services ? $"; {services} not included" : "")})");
        }

        if (layout.Nodes.Count == 1)
        {
            // The runtime's events reach the monitor a moment late.
            await Task.Delay(ctx.Runtime is null ? 0 : 1000);
            Dictionary<long, long> ends;
            lock (postEnds)
            {
                ends = new Dictionary<long, long>(postEnds);
            }

            TailAttribution.Report(result, "tail attribution", "tail_attribution", after.Latency, after.Deliveries,
                ctx.Runtime?.PausesBetween(windowStart, windowEnd + (15 * Stopwatch.Frequency)), ends, windowStart, windowEnd);
        }

        WriterMetrics.Report(result, $"writer on {layout.Nodes[0].Label}", $"{layout.Nodes[0].Key}_writer", writer0, writer1);
        foreach (var node in layout.Nodes)
        {
            node.Context.RuntimeRow(result, $"{node.Label} runtime", $"{node.Key}_runtime");
        }

        ctx.AllocationRows(result, "message", pace.Issued, 15);
        if (heapBefore is not null)
        {
            if (heapAfter is null)
            {
                result.Notes.Add("--heap-diff: the second heap snapshot did not arrive");
            }
            else
            {
                foreach (var (type, count, bytes) in HeapSnapshot.GrowthPer(heapBefore, heapAfter, Math.Max(1, pace.Issued), 15))
                {
                    result.Row("kept per message", $"{bytes,8:F1} B {count,6:F2} × {type}");
                }
            }
        }

        result.Row("generator", $"CPU {genCpuMs / 10.0 / seconds:F0}% of one core (workers + coordinator)");
        if (machine0 is { } m0 && machine1 is { } m1)
        {
            var other = Math.Max(0, MachineSample.CoresBetween(m0, m1) - ((serverCpuMs + genCpuMs) / 1000.0 / seconds));
            result.Row("other load on the machine", $"{other * 100:F0}% of one core (busy time used by neither server nor generator{(layout.Services is { } shared ? $", {shared} included" : "")})");
            result.Set("other_cpu_cores", Math.Round(other, 3));
        }

        result.Row("connections closed", $"{after.Closed:N0} during the run; heartbeats received {after.Heartbeats:N0}");
        result.Set("messages_posted", pace.Issued);
        result.Set("messages_failed", pace.Failed);
        result.Set("publisher_max_behind", pace.MaxBehind);
        result.Set("seconds", Math.Round(seconds, 3));
        result.Set("expected", expected);
        result.Set("received", received);
        result.Set("lost", lost);
        result.Set("duplicated", dup);
        result.Set("misrouted", after.Misrouted);
        result.Set("out_of_order", after.OutOfOrder);
        result.Set("closed_connections", after.Closed);
        result.Set("deliveries_per_second", Math.Round(received / seconds));
        result.Set("server_cpu_ms", serverCpuMs);
        result.Set("server_cpu_us_per_delivery", received == 0 ? null : Math.Round(serverCpuMs * 1000.0 / received, 3));
        result.Set("generator_cpu_ms", genCpuMs);
        IdleScenario.FailureNotes(result, after);
        var p99 = after.Latency.Percentile(99);
        result.Checks.Add(new TargetCheck($"{layout.Name} p99 publish→receive, lost, duplicated",
            $"p99 {ScenarioResult.Ms(p99)} ms, {lost} lost, {dup} dup", layout.Target,
            p99 <= layout.TargetP99Micros && lost == 0 && dup == 0 && pace.Failed == 0 && received > 0));
        return result;
    }

    // Per node: its CPU and RSS, and the deliveries and latency of the subscribers it holds (on the publishing node
    // or across the backplane).
    private static void NodeRows(ScenarioResult result, ChatLayout layout, PoolStats[] before, PoolStats[] after, long[] cpuMs, ProcSample?[] end, double seconds)
    {
        for (var i = 0; i < layout.Nodes.Count; i++)
        {
            var node = layout.Nodes[i];
            var expected = after[i].Expected - before[i].Expected;
            var received = after[i].Received - before[i].Received;
            var dup = after[i].Duplicates - before[i].Duplicates;
            var where = i == 0 ? "on the node the POSTs go to" : "on another node than the POSTs";
            result.Row(node.Label, $"CPU {cpuMs[i] / 10.0 / seconds:F0}% of one core, RSS {(end[i] is { } s ? s.RssKb / 1024.0 : 0):F0} MB; its {after[i].Established:N0} subscribers ({where}): {expected:N0} expected, {received:N0} received, {Math.Max(0, expected - received):N0} lost, {dup:N0} duplicated");
            result.Latency($"publish → receive on {node.Name}", $"latency_{node.Key}", after[i].Latency);
            result.Set(node.Key, new System.Text.Json.Nodes.JsonObject
            {
                ["pid"] = node.Context.Server.Pid,
                ["cpu_ms"] = cpuMs[i],
                ["rss_kb"] = end[i]?.RssKb,
                ["subscribers"] = after[i].Established,
                ["expected"] = expected,
                ["received"] = received,
                ["lost"] = Math.Max(0, expected - received),
                ["duplicated"] = dup,
                ["closed_connections"] = after[i].Closed,
            });
        }
    }
}
