using System.Globalization;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// The chat write path alone (issue 22, item 1): guests POST through the real
/// <c>POST /api/widget/dialogs/{id}/messages</c> (SQLite commit, three events) with no subscriber connected, and the
/// figures are the ones a busy shared machine does not distort — the server's CPU time (<c>utime + stime</c>) and the
/// bytes it allocated (<c>dotnet.gc.heap.total_allocated</c> from its <c>/metrics</c>, exact) per message, with the
/// writer's batch sizes beside them because a batch's fixed cost is shared by its messages. Wall-clock figures are
/// printed but are only meaningful on a quiet machine.
/// </summary>
internal static class ChatWriteScenario
{
    private const string TotalAllocated = "dotnet_gc_heap_total_allocated_bytes_total";

    public static async Task<ScenarioResult> RunAsync(ScenarioContext ctx)
    {
        if (ctx.Target is not HeraldTarget herald)
        {
            throw new InvalidOperationException("chatwrite measures Herald's chat POST.");
        }

        var dialogs = ctx.Options.Int("dialogs", 200);
        var rate = ctx.Options.Double("rate", 500);
        var duration = ctx.Options.Seconds("duration", 20);
        var warmup = ctx.Options.Seconds("warmup", 10);
        var publishers = ctx.Options.Int("publishers", 16);
        var result = new ScenarioResult("chatwrite", $"chat POSTs to {dialogs:N0} dialogs, {rate:N0}/s for {duration.TotalSeconds:F0} s, no subscribers");
        await using var progress = new ProgressLine("chatwrite", () => "setting up dialogs");
        using var channels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("dialog", dialogs, ChannelKind.Dialog, publishers));
        result.Row("setup", channels.SetupSummary);

        long sequence = 0;
        async Task<bool> Send(long _)
        {
            var n = Interlocked.Increment(ref sequence) - 1;
            return await channels.PublishAsync((int)(n % dialogs), $"bench:chatwrite:{n}:0");
        }

        if (warmup > TimeSpan.Zero)
        {
            progress.SetStatus(() => "warm-up");
            await Pacer.RunAsync(rate, warmup, publishers * 8, Send, CancellationToken.None);
        }

        progress.SetStatus(() => $"{rate:N0} messages/s");
        ctx.Runtime?.TakeInterval();
        ctx.Runtime?.TakeAllocations(0);
        var writer0 = await WriterMetrics.ScrapeAsync(herald.Api);
        var allocated0 = await AllocatedBytesAsync(herald.Api);
        var cpu0 = ctx.Server.Sample();
        var pace = await Pacer.RunAsync(rate, duration, publishers * 8, Send, CancellationToken.None);
        var cpu1 = ctx.Server.Sample();
        var allocated1 = await AllocatedBytesAsync(herald.Api);
        var writer1 = await WriterMetrics.ScrapeAsync(herald.Api);

        var seconds = pace.Elapsed.TotalSeconds;
        var messages = Math.Max(1, pace.Succeeded);
        result.Row("messages", $"{pace.Issued:N0} posted in {seconds:F1} s ({pace.Succeeded / seconds:N0}/s), {pace.Failed:N0} failed, pacer at most {pace.MaxBehind} behind");
        result.Latency("POST round trip", "post_round_trip", pace.RoundTrip);
        if (cpu0 is { } c0 && cpu1 is { } c1)
        {
            var cpuMs = c1.CpuMs - c0.CpuMs;
            result.Row("server CPU per message", $"{cpuMs * 1000.0 / messages:F1} µs ({cpuMs / 10.0 / seconds:F0}% of one core; CPU time, not wall time)");
            result.Set("server_cpu_ms", cpuMs);
            result.Set("server_cpu_us_per_message", Math.Round(cpuMs * 1000.0 / messages, 1));
        }

        if (allocated0 is { } a0 && allocated1 is { } a1)
        {
            // Two /metrics scrapes fall inside the difference: a few KB over thousands of messages.
            var perMessage = (a1 - a0) / (double)messages;
            result.Row("server allocated per message", $"{perMessage:F0} B (dotnet.gc.heap.total_allocated, all threads)");
            result.Set("server_allocated_bytes_per_message", Math.Round(perMessage));
        }

        WriterMetrics.Report(result, "writer", "writer", writer0, writer1);
        ctx.RuntimeRow(result, "server runtime");
        ctx.AllocationRows(result, "message", messages, 25);
        result.Set("messages_posted", pace.Issued);
        result.Set("messages_failed", pace.Failed);
        result.Set("seconds", Math.Round(seconds, 3));
        return result;
    }

    private static async Task<double?> AllocatedBytesAsync(HeraldApi api)
    {
        string text;
        try
        {
            text = await api.GetTextAsync("/metrics");
        }
        catch (HttpRequestException)
        {
            return null; // metrics switched off on the node
        }

        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(TotalAllocated, StringComparison.Ordinal) && line.LastIndexOf(' ') is var space and > 0)
            {
                return double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
