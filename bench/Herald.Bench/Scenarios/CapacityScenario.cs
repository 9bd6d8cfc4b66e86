using System.Diagnostics;
using System.Globalization;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S5 (issue 8): the most concurrent SSE connections one node holds with heartbeats on and none dropped. The bench
/// reads the server's open-files limit from <c>/proc/PID/limits</c> and opens that many idle streams less a
/// headroom for the server's own descriptors: those it has open before connecting (~250, mostly the assemblies
/// the runtime keeps open, two each) plus 100 spare, or <c>--fd-headroom N</c>. It holds them over several
/// heartbeat intervals (a short interval for the run, 5 s by default, so a 30 s hold sees six) and checks that
/// none was refused or closed and that every one received heartbeats: an idle stream receives nothing else, so
/// a longest silence shorter than the hold means each connection got some during it. The longest silence is
/// reported against the interval: the server's loop visits each connection once per interval and writes to it
/// when it has been idle for an interval less one tick, so a connection last written between two visits (its
/// opening comment, a message) can wait up to two intervals, a heartbeat-to-heartbeat gap about one. Memory:
/// (RSS holding − RSS before) / connections, each RSS a median of samples, and what 100,000 connections would
/// need by that measure.
/// </summary>
internal static class CapacityScenario
{
    private const string HeartbeatSetting = "--Herald:Streams:HeartbeatInterval=";

    // Descriptors the server may open during the run beyond those it has before connecting (diagnostics sessions,
    // database files, log files).
    private const int SpareDescriptors = 100;

    // The workers report each connection's current silence twice a second, so the longest silence seen can be up
    // to this much short of the true one.
    private const long SilenceResolutionMs = 500;

    public static async Task<ScenarioResult> RunAsync(BenchOptions options)
    {
        var hold = options.Seconds("hold", 30);
        var headroom = options.String("fd-headroom") is null ? (int?)null : options.Int("fd-headroom", 0);
        var cap = options.Int("max-connections", int.MaxValue);
        var topics = Math.Max(1, options.Int("topics", 1_000));
        // A --server-arg setting the interval comes later on the server's command line and wins; report that one.
        var heartbeat = options.All("server-arg").LastOrDefault(a => a.StartsWith(HeartbeatSetting, StringComparison.Ordinal)) is { } given
            ? TimeSpan.Parse(given[HeartbeatSetting.Length..], CultureInfo.InvariantCulture)
            : options.Seconds("heartbeat", 5);

        await using var target = await HeraldTarget.StartAsync(options, [$"{HeartbeatSetting}{heartbeat.ToString("c", CultureInfo.InvariantCulture)}"]);
        if (target.Server.Pid is not { } serverPid || OpenFilesLimit(serverPid) is not { } limit)
        {
            throw new InvalidOperationException("S5 needs the server's PID to read its open-files limit (pass --server-pid with --url).");
        }

        var monitor = !options.Flag("no-runtime-monitor") ? RuntimeMonitor.TryStart(serverPid) : null;
        try
        {
            var result = await RunAsync(new ScenarioContext(options, target, monitor), limit, headroom, cap, topics, heartbeat, hold);
            result.TargetDescription = $"Herald (SSE; SQLite; {HeraldTarget.RuntimeSettings}; {heartbeat.TotalSeconds:0.##} s heartbeat)";
            if (target.Server.LogFile is { } log && options.Flag("keep-data"))
            {
                result.Notes.Add($"server log: {log}");
            }

            return result;
        }
        finally
        {
            if (monitor is not null)
            {
                await monitor.DisposeAsync();
            }
        }
    }

    private static async Task<ScenarioResult> RunAsync(ScenarioContext ctx, (long Soft, long Hard) limit, int? givenHeadroom, int cap, int topics, TimeSpan heartbeat, TimeSpan hold)
    {
        await using var progress = new ProgressLine("S5", () => "starting");

        using var channels = await ctx.Target.OpenChannelsAsync(new ChannelSpec("capacity", topics, ChannelKind.Topic, 1));
        await IdleScenario.WarmUpAsync(ctx, topics, Math.Min(500, cap), progress);
        var rssBefore = await ctx.MedianRssKbAsync(5, TimeSpan.FromMilliseconds(400));
        var ownDescriptors = OpenDescriptors(ctx.Server.Pid!.Value);
        if (ownDescriptors < 0 && givenHeadroom is null)
        {
            throw new InvalidOperationException($"Cannot count the server's descriptors in /proc/{ctx.Server.Pid}/fd; pass --fd-headroom N.");
        }

        var headroom = givenHeadroom ?? (ownDescriptors + SpareDescriptors);
        var byLimit = (int)Math.Clamp(limit.Soft - headroom, 0, int.MaxValue);
        var wanted = Math.Min(byLimit, cap);
        var capped = wanted < byLimit;
        var result = new ScenarioResult("S5 capacity", $"{wanted:N0} idle SSE connections on one node (open-files limit {limit.Soft:N0} − {headroom} headroom{(capped ? ", capped by --max-connections" : "")}), heartbeat every {heartbeat.TotalSeconds:0.##} s, held {hold.TotalSeconds:F0} s");

        var subscriptions = Enumerable.Range(0, wanted).Select(i => channels.Subscribe(i % topics, i / topics)).ToList();
        var (pool, connectSeconds) = await ctx.ConnectAsync(subscriptions, progress);
        await using var _ = pool;
        var connected = pool.Progress();

        // Hold. The workers report each connection's current silence (time since its last byte) twice a second;
        // the longest of those over the hold is the longest gap between heartbeats, to within that half second.
        var holdStart = ctx.Server.Sample();
        var heartbeatsBeforeHold = (await pool.StatsAsync(null, histogram: false, reset: false)).Heartbeats;
        ctx.Runtime?.TakeInterval();
        var holdStarted = Stopwatch.GetTimestamp();
        var samples = new List<long>();
        var lastSample = holdStarted;
        long maxSilenceMs = 0;
        progress.SetStatus(() => ctx.Status(pool, $"holding, longest silence {maxSilenceMs / 1000.0:F1} s"));
        while (Stopwatch.GetElapsedTime(holdStarted) < hold)
        {
            await Task.Delay(250);
            maxSilenceMs = Math.Max(maxSilenceMs, pool.Progress().MaxSilenceMs);
            // RSS once a second over the last five seconds, as S1 does.
            if (hold - Stopwatch.GetElapsedTime(holdStarted) < TimeSpan.FromSeconds(5.5) && Stopwatch.GetElapsedTime(lastSample) >= TimeSpan.FromSeconds(1) && ctx.Server.Sample() is { } s)
            {
                samples.Add(s.RssKb);
                lastSample = Stopwatch.GetTimestamp();
            }
        }

        var holdEnd = ctx.Server.Sample();
        var descriptorsHolding = OpenDescriptors(ctx.Server.Pid!.Value);
        var stats = await pool.StatsAsync(null, histogram: true, reset: false);
        maxSilenceMs = Math.Max(maxSilenceMs, stats.MaxSilenceMs);
        var serverCount = await ctx.Target.ActiveConnectionsAsync();
        var rssHolding = ScenarioContext.Median(samples);
        var held = stats.Established - stats.Closed;
        var dropped = stats.Failed + stats.Closed;
        // Judged on the longest silence the sampling could have missed, so a pass is never a sampling artefact.
        var heartbeatsReachedAll = held > 0 && maxSilenceMs + SilenceResolutionMs < hold.TotalMilliseconds;
        var holdHeartbeats = stats.Heartbeats - heartbeatsBeforeHold;

        result.Row("open-files limit", $"{limit.Soft:N0} soft / {limit.Hard:N0} hard (server's /proc/{ctx.Server.Pid}/limits); {headroom} left for the server's own descriptors ({ownDescriptors:N0} open before connecting{(givenHeadroom is null ? $" + {SpareDescriptors} spare" : ", --fd-headroom")}); {descriptorsHolding:N0} open while holding");
        result.Row("connections", $"{held:N0} of {wanted:N0} held; {stats.Failed:N0} refused or failed, {stats.Closed:N0} closed during the run; server reports {(serverCount is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) : "-")}");
        result.Row("connect time", $"{connectSeconds:F1} s ({connected.Established / Math.Max(connectSeconds, 0.001):N0}/s)");
        result.Latency("connect latency", "connect_latency", stats.ConnectLatency);
        result.Row("heartbeats in the hold", $"{holdHeartbeats:N0} received, {holdHeartbeats / (double)Math.Max(1, held):F2} per connection (at most {hold / heartbeat:F1} at one per interval); {(heartbeatsReachedAll ? "every connection got some" : "SOME CONNECTION MAY HAVE GOT NONE")}");
        result.Row("longest silence", $"{maxSilenceMs / 1000.0:F1} s on some connection = {maxSilenceMs / heartbeat.TotalMilliseconds:F2} × the {heartbeat.TotalSeconds:0.##} s interval (sampled twice a second, so up to {SilenceResolutionMs / 1000.0:F1} s more; by design under two intervals)");
        IdleScenario.FailureNotes(result, stats);
        if (hold < 2 * heartbeat)
        {
            result.Notes.Add("the hold is shorter than two heartbeat intervals: a connection may rightly get no heartbeat in it, so 'heartbeats to all' cannot be shown");
        }

        var perConnection = held <= 0 ? 0 : (rssHolding - rssBefore) * 1024.0 / held;
        var for100K = (rssBefore * 1024.0) + (perConnection * 100_000);
        result.Row("server RSS", $"{rssBefore / 1024.0:F1} MB before, {rssHolding / 1024.0:F1} MB holding {held:N0} (medians) = {perConnection / 1024:F2} KB per connection");
        result.Row("100,000 connections", $"{for100K / 1048576.0 / 1024:F2} GB by that measure ({rssBefore / 1024.0:F0} MB idle server + 100,000 × {perConnection / 1024:F2} KB), and 100,000 open files");
        if (holdStart is { } a && holdEnd is { } b)
        {
            result.Row("server CPU while holding", $"{ProcSample.CoresBetween(a, b) * 100:F1} % of one core (heartbeats to {held:N0} connections every {heartbeat.TotalSeconds:0.##} s)");
            result.Set("server_cpu_hold_cores", Math.Round(ProcSample.CoresBetween(a, b), 4));
        }

        ctx.RuntimeRow(result, "server runtime (hold)");
        result.Row("generator CPU", $"{(stats.CpuMs + ScenarioContext.CoordinatorCpuMs()) / 1000.0:F1} s total (workers + coordinator)");

        result.Set("open_files_soft", limit.Soft);
        result.Set("open_files_hard", limit.Hard);
        result.Set("fd_headroom", headroom);
        result.Set("server_descriptors_before", ownDescriptors);
        result.Set("server_descriptors_holding", descriptorsHolding);
        result.Set("target_connections", wanted);
        result.Set("capped_by_option", capped);
        result.Set("connections", held);
        result.Set("failed", stats.Failed);
        result.Set("closed", stats.Closed);
        result.Set("server_active_connections", serverCount);
        result.Set("connect_seconds", Math.Round(connectSeconds, 2));
        result.Set("heartbeat_interval_seconds", heartbeat.TotalSeconds);
        result.Set("hold_seconds", hold.TotalSeconds);
        result.Set("heartbeats", stats.Heartbeats);
        result.Set("heartbeats_in_hold", holdHeartbeats);
        result.Set("max_silence_ms", maxSilenceMs);
        result.Set("rss_before_kb", rssBefore);
        result.Set("rss_holding_kb", rssHolding);
        result.Set("rss_per_connection_bytes", Math.Round(perConnection));
        result.Set("rss_for_100k_connections_bytes", Math.Round(for100K));
        result.Checks.Add(new TargetCheck("S5 connections held up to the open-files limit, none dropped",
            $"{held:N0} of {wanted:N0}{(capped ? " (capped)" : "")}, {dropped} dropped, longest silence {maxSilenceMs / 1000.0:F1} s",
            $"limit − {headroom} = {byLimit:N0} held, 0 dropped, heartbeats to all (issue 8)",
            !capped && held == wanted && dropped == 0 && heartbeatsReachedAll));
        return result;
    }

    /// <summary>"Max open files" of a process (soft, hard) from <c>/proc/PID/limits</c>; "unlimited" as long.MaxValue.</summary>
    private static (long Soft, long Hard)? OpenFilesLimit(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: >= 2 } ? (Parse(fields[0]), Parse(fields[1])) : null;
        }
        catch (IOException)
        {
            return null;
        }

        static long Parse(string value) => value == "unlimited" ? long.MaxValue : long.Parse(value, CultureInfo.InvariantCulture);
    }

    private static int OpenDescriptors(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
