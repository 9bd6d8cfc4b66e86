using System.Diagnostics;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>What every scenario gets: options, the target (server) under test; and the steps they share.</summary>
internal sealed class ScenarioContext(BenchOptions options, IBenchTarget target, RuntimeMonitor? runtime)
{
    /// <summary>GC and thread-pool events of the server (null when it could not be attached or was turned off).</summary>
    public RuntimeMonitor? Runtime { get; } = runtime;

    /// <summary>Adds the server runtime figures of the interval that ends now to the result.</summary>
    public void RuntimeRow(ScenarioResult result, string label, string key = "server_runtime")
    {
        if (Runtime?.TakeInterval() is { } figures)
        {
            result.Row(label, figures.ToString());
            result.Set(key, new System.Text.Json.Nodes.JsonObject
            {
                ["gen0"] = figures.Collections[0],
                ["gen1"] = figures.Collections[1],
                ["gen2"] = figures.Collections[2],
                ["induced"] = figures.Induced,
                ["pause_total_ms"] = Math.Round(figures.TotalPauseMs, 1),
                ["pause_max_ms"] = Math.Round(figures.MaxPauseMs, 2),
                ["pause_max_generation"] = figures.MaxPauseGeneration,
                ["pauses_over_10ms"] = figures.PausesOver10Ms,
                ["allocated_mb"] = Math.Round(figures.AllocatedMb, 1),
                ["threadpool_threads_max"] = figures.ThreadPoolThreadsMax,
                ["threadpool_queue_max"] = figures.ThreadPoolQueueMax,
            });
        }
    }

    public BenchOptions Options { get; } = options;

    public IBenchTarget Target { get; } = target;

    public ServerProcess Server => Target.Server;

    /// <summary>Herald's API, for Herald-only scenarios.</summary>
    public HeraldApi Api => (Target as HeraldTarget)?.Api ?? throw new InvalidOperationException($"This scenario needs Herald, not {Target.Name}.");

    public int PerWorker => Options.Int("per-worker", 10_000);

    /// <summary>Adds the server's sampled allocations since the last call, per <paramref name="unit"/>, top types.</summary>
    public void AllocationRows(ScenarioResult result, string unit, long count, int top = 10)
    {
        if (Runtime?.TakeAllocations(top) is not { Count: > 0 } allocations || count <= 0)
        {
            return;
        }

        result.Row($"allocated per {unit}", $"top {top} types by sampled allocation (GCAllocationTick, ~1 sample per 100 KB):");
        var json = new System.Text.Json.Nodes.JsonObject();
        foreach (var (type, bytes) in allocations)
        {
            result.Row("", $"{bytes / (double)count,8:F0} B  {type}");
            json[type] = Math.Round(bytes / (double)count, 1);
        }

        result.Set($"allocations_per_{unit}_bytes", json);
    }

    /// <summary>
    /// After a connection storm: reports the GC work it caused, then has the server run one full collection
    /// (over EventPipe) so the measurement that follows sees a server whose connection state already lives
    /// in gen2, as it would after running for a while — otherwise the first ephemeral collections in the
    /// window copy the hundreds of MB just allocated and their pauses (0.3–0.8 s here) land in the figures.
    /// <c>--no-settle-gc</c> skips the collection, to measure right after a storm. <paramref name="label"/> and
    /// <paramref name="key"/> name the server in rows and JSON when a scenario has several (S4).
    /// </summary>
    public async Task SettleAsync(ScenarioResult result, string label = "server", string key = "server")
    {
        RuntimeRow(result, $"{label} runtime while connecting", $"{key}_runtime_connecting");
        if (Options.Flag("no-settle-gc") || Options.Flag("storm") || Runtime is null || Server.Pid is not { } pid)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        await Runtime.InduceCollectionAsync(pid);
        var gc = Runtime.TakeInterval();
        result.Row(label == "server" ? "settle" : $"{label} settle", $"one induced full GC after connecting: pause {gc.MaxPauseMs:F0} ms (took {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s)");
        await Task.Delay(500);
    }

    /// <summary>Starts workers and opens every subscription; returns when all are established or failed.</summary>
    public async Task<(WorkerPool Pool, double Seconds)> ConnectAsync(IReadOnlyList<Subscription> subscriptions, ProgressLine progress)
    {
        var pool = WorkerPool.Start(subscriptions.Count, PerWorker);
        var timeout = Options.Seconds("connect-timeout", 30);
        var started = Stopwatch.GetTimestamp();
        pool.Connect(subscriptions, Server.Port, Options.Int("per-source", 5000), Options.Int("max-pending", Options.Flag("storm") ? int.MaxValue : 256), timeout, Target.Protocol);
        progress.SetStatus(() => Status(pool, "connecting"));
        var deadline = started + (long)((timeout.TotalSeconds + 30) * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100);
            var p = pool.Progress();
            if (p.Requested == subscriptions.Count && p.Established + p.Failed >= subscriptions.Count)
            {
                break;
            }
        }

        // The last progress report can be up to half a second old; the elapsed time is measured here, so the
        // connect time is accurate to that half second.
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (pool, seconds);
    }

    /// <summary>The progress line: connections, deliveries, server RSS and CPU, generator CPU.</summary>
    public string Status(WorkerPool pool, string phase)
    {
        var p = pool.Progress();
        var sample = Server.Sample();
        var now = sample;
        var cpu = "";
        if (now is { } n && _lastSample is { } last && n.Timestamp > last.Timestamp)
        {
            cpu = $" srv-cpu {ProcSample.CoresBetween(last, n) * 100:F0}%";
        }

        _lastSample = now;
        var rss = sample is { } s ? $" srv-rss {s.RssKb / 1024.0:F0} MB" : "";
        return $"{phase}: conns {p.Established:N0}/{p.Requested:N0} failed {p.Failed:N0} closed {p.Closed:N0} recv {p.Received:N0} dup {p.Duplicates:N0}{rss}{cpu} gen-cpu {(p.CpuMs + CoordinatorCpuMs()) / 1000.0:F1}s";
    }

    private ProcSample? _lastSample;

    /// <summary>Median server RSS (KB) over a few samples: the GC's gen0 budget makes single samples noisy.</summary>
    public async Task<long> MedianRssKbAsync(int samples, TimeSpan every)
    {
        var values = new List<long>();
        for (var i = 0; i < samples; i++)
        {
            if (i > 0)
            {
                await Task.Delay(every);
            }

            if (Server.Sample() is { } s)
            {
                values.Add(s.RssKb);
            }
        }

        return Median(values);
    }

    public static long Median(List<long> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        values.Sort();
        return values[values.Count / 2];
    }

    /// <summary>
    /// Waits until the workers have received everything published (or <paramref name="timeout"/> passes),
    /// then returns their statistics. <paramref name="keepDeliveries"/>: see <see cref="WorkerCommand.KeepDeliveries"/>.
    /// </summary>
    public static async Task<PoolStats> DrainAsync(WorkerPool pool, long[] published, bool histogram, bool reset, TimeSpan timeout, bool keepDeliveries = false)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var stats = await pool.StatsAsync(published, histogram: false, reset: false);
            if (stats.Received + stats.Misrouted >= stats.Expected || Stopwatch.GetTimestamp() > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        return await pool.StatsAsync(published, histogram, reset, keepDeliveries);
    }

    public static long CoordinatorCpuMs() => (long)Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
}
