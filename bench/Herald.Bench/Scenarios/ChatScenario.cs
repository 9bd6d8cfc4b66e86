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
/// Latency is from just before the POST is sent to the moment a subscriber's read returns the event.
/// </summary>
internal static class ChatScenario
{
    public static async Task<ScenarioResult> RunAsync(ScenarioContext ctx)
    {
        var dialogs = ctx.Options.Int("dialogs", 5_000);
        var perDialog = Math.Clamp(ctx.Options.Int("per-dialog", 2), 1, 2);
        var rate = ctx.Options.Double("rate", 1000);
        var duration = ctx.Options.Seconds("duration", 20);
        var warmup = ctx.Options.Seconds("warmup", 3);
        var publishers = ctx.Options.Int("publishers", 16);
        var through = ctx.Target is HeraldTarget ? "through the chat POST (SQLite)" : "through its publish endpoint";
        var result = new ScenarioResult("S3 chat", $"{dialogs:N0} dialogs × {perDialog} subscribers, {rate:N0} messages/s for {duration.TotalSeconds:F0} s {through}");
        await using var progress = new ProgressLine("S3", () => "setting up dialogs");

        using var channels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("dialog", dialogs, ChannelKind.Dialog, publishers));
        if (channels.SetupSummary.Length > 0)
        {
            result.Row("setup", channels.SetupSummary);
        }

        var subscriptions = new List<Subscription>(dialogs * perDialog);
        for (var i = 0; i < dialogs; i++)
        {
            for (var k = 0; k < perDialog; k++)
            {
                subscriptions.Add(channels.Subscribe(i, k));
            }
        }

        var (pool, connectSeconds) = await ctx.ConnectAsync(subscriptions, progress);
        await using var _ = pool;
        var connected = pool.Progress();
        result.Row("connections", $"{connected.Established:N0} established, {connected.Failed:N0} failed, in {connectSeconds:F1} s");
        result.Set("connections", connected.Established);
        result.Set("connect_seconds", Math.Round(connectSeconds, 2));

        await ctx.SettleAsync(result);
        var published = new long[dialogs];
        var nextSeq = new long[dialogs];
        long sequence = 0;
        async Task<bool> Send(long _)
        {
            var n = Interlocked.Increment(ref sequence) - 1;
            var dialog = (int)(n % dialogs);
            var seq = Interlocked.Increment(ref nextSeq[dialog]) - 1;
            var ok = await channels.PublishAsync(dialog, $"bench:{dialog}:{seq}:{Stopwatch.GetTimestamp()}");
            if (ok)
            {
                Interlocked.Increment(ref published[dialog]);
            }

            return ok;
        }

        await Task.Delay(1000);
        if (warmup > TimeSpan.Zero)
        {
            progress.SetStatus(() => ctx.Status(pool, "warm-up"));
            await Pacer.RunAsync(rate, warmup, publishers * 8, Send, CancellationToken.None);
        }

        var before = await ScenarioContext.DrainAsync(pool, published, histogram: false, reset: true, TimeSpan.FromSeconds(10));
        progress.SetStatus(() => ctx.Status(pool, $"{rate:N0} msg/s"));
        var cpu0 = ctx.Server.Sample();
        var machine0 = MachineSample.Read();
        var gen0 = before.CpuMs + ScenarioContext.CoordinatorCpuMs();
        ctx.Runtime?.TakeInterval();
        ctx.Runtime?.TakeAllocations(0);
        var pace = await Pacer.RunAsync(rate, duration, publishers * 8, Send, CancellationToken.None);
        var cpu1 = ctx.Server.Sample();
        var machine1 = MachineSample.Read();
        progress.SetStatus(() => ctx.Status(pool, "draining"));
        var after = await ScenarioContext.DrainAsync(pool, published, histogram: true, reset: false, TimeSpan.FromSeconds(15));

        var expected = after.Expected - before.Expected;
        var received = after.Received - before.Received;
        var dup = after.Duplicates - before.Duplicates;
        var lost = Math.Max(0, expected - received);
        var seconds = pace.Elapsed.TotalSeconds;
        var serverCpuMs = cpu0 is { } a && cpu1 is { } b ? b.CpuMs - a.CpuMs : 0;
        var genCpuMs = after.CpuMs + ScenarioContext.CoordinatorCpuMs() - gen0;

        result.Row("messages", $"{pace.Issued:N0} posted in {seconds:F1} s ({pace.Succeeded / seconds:N0}/s), {pace.Failed:N0} failed, pacer at most {pace.MaxBehind} behind");
        result.Latency("POST round trip", "post_round_trip", pace.RoundTrip);
        result.Row("deliveries", $"{expected:N0} expected, {received:N0} received, {lost:N0} lost, {dup:N0} duplicated, {after.Misrouted:N0} misrouted, {after.OutOfOrder:N0} out of order");
        result.Row("deliveries/s", ScenarioResult.F(received / seconds, 0));
        result.Latency("publish → receive", "latency", after.Latency);
        if (cpu1 is { } end)
        {
            result.Row("server", $"CPU {serverCpuMs / 10.0 / seconds:F0}% of one core, {(received == 0 ? 0 : serverCpuMs * 1000.0 / received):F1} µs per delivery (incl. the publish request{(ctx.Target is HeraldTarget ? " and SQLite" : "")}), RSS {end.RssKb / 1024.0:F0} MB");
        }

        ctx.RuntimeRow(result, "server runtime");
        ctx.AllocationRows(result, "message", pace.Issued, 15);
        result.Row("generator", $"CPU {genCpuMs / 10.0 / seconds:F0}% of one core (workers + coordinator)");
        if (machine0 is { } m0 && machine1 is { } m1)
        {
            var other = Math.Max(0, MachineSample.CoresBetween(m0, m1) - ((serverCpuMs + genCpuMs) / 1000.0 / seconds));
            result.Row("other load on the machine", $"{other * 100:F0}% of one core (busy time used by neither server nor generator)");
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
        result.Checks.Add(new TargetCheck("S3 chat p99 publish→receive, lost, duplicated",
            $"p99 {ScenarioResult.Ms(p99)} ms, {lost} lost, {dup} dup", "p99 ≤ 10 ms, 0 lost, 0 dup (issue 2)",
            p99 <= 10_000 && lost == 0 && dup == 0 && pace.Failed == 0 && received > 0));
        return result;
    }
}
