using System.Diagnostics;
using System.Text.Json.Nodes;
using Herald.Bench.Load;
using Herald.Bench.Report;
using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S6 (issue 21, item 5): three nodes sharing PostgreSQL and Redis (<see cref="HeraldCluster"/>), durable publishes
/// (<c>POST /api/publish</c>) at rising rates. Topic t's subscribers are all held on node t mod 3, so each node's
/// subscribers receive a third of the traffic; message n goes to topic n mod T through node (n div T) mod 3, so every
/// node publishes a third and every topic is published through every node. Per step, like S2: the cluster's committed
/// messages/s, publish-to-receive latency, lost and duplicated, and the CPU time (<c>utime + stime</c> from /proc over
/// the step) of each node, of PostgreSQL's process tree and of redis-server, per message committed cluster-wide —
/// so the step where latency breaks names what was busy. <c>--idle-node</c>: node C holds no subscriber and gets no
/// publish (A and B split both), so its CPU per message is what a node spends on traffic it has no interest in.
/// </summary>
internal static class ClusterScenario
{
    private const int NodeCount = 3;
    private const long TargetP99Micros = 100_000;

    public static async Task<ScenarioResult> RunAsync(BenchOptions options)
    {
        if (options.String("url") is not null)
        {
            throw new InvalidOperationException("S6 starts its own three nodes, PostgreSQL and Redis; --url is not supported.");
        }

        var idleNode = options.Flag("idle-node");
        var topics = options.Int("topics", 300);
        var perTopic = options.Int("per-topic", 2);
        var rates = options.Ints("rates", [100, 200, 400, 700, 1000, 1500, 2000, 3000, 4000]);
        var step = options.Seconds("step", 10);
        var warmup = options.Seconds("warmup", 30);
        var publishers = options.Int("publishers", 16);
        var padding = new string('x', options.Int("payload", 64));
        var allSteps = options.Flag("all-steps");
        var names = new[] { "A", "B", "C" };
        // The nodes that hold subscribers and take publishes: all three, or A and B with --idle-node.
        var active = idleNode ? NodeCount - 1 : NodeCount;
        var result = new ScenarioResult(idleNode ? "S6 cluster (idle node)" : "S6 cluster",
            $"3 nodes (PostgreSQL + Redis), {topics:N0} topics × {perTopic} subscribers on {(idleNode ? "A and B; C holds none and gets no publish" : "one node each (t mod 3)")}, "
            + $"durable publishes spread over {(idleNode ? "A and B" : "the nodes")}, rate rising {rates[0]}..{rates[^1]}/s, {step.TotalSeconds:F0} s per step");
        await using var progress = new ProgressLine("S6", () => "starting PostgreSQL, Redis and three nodes");
        await using var cluster = await HeraldCluster.StartAsync(options, NodeCount);
        result.TargetDescription = cluster.Description;

        var channels = new List<IBenchChannels>();
        try
        {
            foreach (var node in cluster.Nodes.Take(active))
            {
                channels.Add(await node.OpenChannelsAsync(new ChannelSpec("cluster", topics, ChannelKind.Topic, Math.Max(1, publishers / active), padding)));
            }

            var holders = cluster.Nodes.Take(active).Select((n, i) => new ChatNode(names[i], new ScenarioContext(options, n, null))).ToList();
            var subscriptions = holders.Select(_ => new List<Subscription>()).ToArray();
            for (var t = 0; t < topics; t++)
            {
                for (var k = 0; k < perTopic; k++)
                {
                    subscriptions[t % active].Add(channels[t % active].Subscribe(t, k));
                }
            }

            var (pools, connectSeconds) = await NodePools.ConnectAsync(holders, subscriptions, progress);
            await using var _ = pools;
            var connected = pools.Progress();
            result.Row("subscribers", $"{connected.Established:N0} established, {connected.Failed:N0} failed, in {connectSeconds:F1} s ("
                + string.Join(", ", names.Select((n, i) => $"{(i < active ? subscriptions[i].Count : 0):N0} on {n}")) + ")");
            result.Set("subscribers", connected.Established);
            result.Set("idle_node", idleNode);

            var published = new long[topics];
            var nextSeq = new long[topics];
            long sequence = 0;
            async Task<bool> Send(long _)
            {
                var n = Interlocked.Increment(ref sequence) - 1;
                var topic = (int)(n % topics);
                var node = (int)(n / topics % active);
                var seq = Interlocked.Increment(ref nextSeq[topic]) - 1;
                var ok = await channels[node].PublishAsync(topic, $"bench:{topic}:{seq}:{Stopwatch.GetTimestamp()}");
                if (ok)
                {
                    Interlocked.Increment(ref published[topic]);
                }

                return ok;
            }

            // Tiered JIT on all three nodes before the first step (see BroadcastScenario). 30 s, not S2's 15: the nodes
            // start one after another, and with 15 s the last one started still spent 1.4–1.8 ms of CPU per message in
            // the first step against the others' 0.8 (2026-12-05, s6-main*.json).
            progress.SetStatus(() => pools.Status("warm-up"));
            await Pacer.RunAsync(rates[0], warmup, publishers * 8, Send, CancellationToken.None);
            var (before, _) = await pools.DrainAsync(published, histogram: false, reset: true, TimeSpan.FromSeconds(10));

            // What each process spends with no traffic at all (heartbeats, timers, the runtime), per second: a step's
            // CPU less this is its net cost, which at low rates is far below the gross figure.
            progress.SetStatus(() => pools.Status("baseline (no publishes)"));
            var quiet = await Window.StartAsync(cluster, channels.Count, before.CpuMs);
            await Task.Delay(options.Seconds("baseline", 5));
            var baseline = await quiet.EndAsync(before.CpuMs);
            var idlePerMs = baseline.NodeCpuMs.Select(ms => ms / baseline.WindowMs).ToArray();
            result.Row("baseline", $"with no publishes, over {baseline.WindowMs / 1000:F1} s: " + string.Join(", ", names.Select((n, i) => $"{n} {idlePerMs[i] * 100:F1}%"))
                + $", PostgreSQL {baseline.PostgresCpuMs / baseline.WindowMs * 100:F1}%, Redis {baseline.RedisCpuMs / baseline.WindowMs * 100:F1}% of a core (subtracted in the net figures)");
            result.Set("baseline_cpu_cores", new JsonObject
            {
                ["nodes"] = new JsonArray([.. idlePerMs.Select(c => (JsonNode)Math.Round(c, 4))]),
                ["postgres"] = Math.Round(baseline.PostgresCpuMs / baseline.WindowMs, 4),
                ["redis"] = Math.Round(baseline.RedisCpuMs / baseline.WindowMs, 4),
            });

            var header = new List<string> { "msg/s set", "msg/s", "lost", "dup", "p50 ms", "p99 ms", "p99.9 ms", "max ms" };
            header.AddRange(names.Select(n => $"{n} µs/msg"));
            header.AddRange(names.Select(n => $"{n} CPU"));
            header.AddRange(["PG CPU", "Redis CPU", "seq busy", "gen CPU", "other", "machine", "behind", "pass"]);
            result.Table.Add([.. header]);
            var steps = new JsonArray();
            var failures = 0;
            JsonObject? best = null;
            JsonObject? firstFailed = null;
            long totalMessages = 0;
            var totalNodeCpuMs = new long[NodeCount];
            foreach (var rate in rates)
            {
                progress.SetStatus(() => pools.Status($"{rate}/s"));
                var window = await Window.StartAsync(cluster, channels.Count, before.CpuMs);
                var pace = await Pacer.RunAsync(rate, step, publishers * 8, Send, CancellationToken.None);
                var (after, afterByNode) = await pools.DrainAsync(published, histogram: true, reset: true, TimeSpan.FromSeconds(10));
                var figures = await window.EndAsync(after.CpuMs);

                var expected = after.Expected - before.Expected;
                var received = after.Received - before.Received;
                var dup = after.Duplicates - before.Duplicates;
                var lost = Math.Max(0, expected - received);
                var committed = pace.Succeeded;
                var perSecond = committed / pace.Elapsed.TotalSeconds;
                var p99 = after.Latency.Percentile(99);
                var pass = p99 <= TargetP99Micros && lost == 0 && dup == 0 && pace.Failed == 0 && after.Closed == before.Closed && received > 0;
                double PerMessage(long cpuMs) => committed == 0 ? 0 : Math.Round(cpuMs * 1000.0 / committed, 1);
                string Cores(double cores) => $"{cores * 100:F0}%";

                var row = new List<string>
                {
                    rate.ToString(System.Globalization.CultureInfo.InvariantCulture), ScenarioResult.F(perSecond, 0), lost.ToString("N0"), dup.ToString("N0"),
                    ScenarioResult.Ms(after.Latency.Percentile(50)), ScenarioResult.Ms(p99), ScenarioResult.Ms(after.Latency.Percentile(99.9)), ScenarioResult.Ms(after.Latency.Max),
                };
                row.AddRange(figures.NodeCpuMs.Select(ms => ScenarioResult.F(PerMessage(ms), 0)));
                row.AddRange(figures.NodeCpuMs.Select(ms => Cores(ms / figures.WindowMs)));
                row.AddRange([Cores(figures.PostgresCpuMs / figures.WindowMs), Cores(figures.RedisCpuMs / figures.WindowMs), Cores(figures.SequenceBusy),
                    Cores(figures.GeneratorCpuMs / figures.WindowMs), Cores(figures.OtherCores), $"{figures.MachineCores:F2}", pace.MaxBehind.ToString("N0"), pass ? "yes" : "NO"]);
                result.Table.Add([.. row]);

                var nodes = new JsonArray();
                for (var i = 0; i < NodeCount; i++)
                {
                    var node = new JsonObject
                    {
                        ["name"] = names[i],
                        ["pid"] = cluster.Nodes[i].Server.Pid,
                        ["role"] = i < active ? "subscribers and publishes" : "no subscriber, no publish",
                        ["cpu_ms"] = figures.NodeCpuMs[i],
                        ["cpu_cores"] = Math.Round(figures.NodeCpuMs[i] / figures.WindowMs, 3),
                        ["cpu_us_per_cluster_message"] = PerMessage(figures.NodeCpuMs[i]),
                        ["cpu_us_per_cluster_message_net"] = PerMessage((long)Math.Max(0, figures.NodeCpuMs[i] - (idlePerMs[i] * figures.WindowMs))),
                        ["rss_kb"] = figures.NodeRssKb[i],
                    };
                    if (i < active)
                    {
                        var stats = afterByNode[i];
                        node["subscribers"] = stats.Established;
                        node["latency"] = ScenarioResult.LatencyJson(stats.Latency);
                        node["writer"] = figures.Writers[i];
                    }

                    nodes.Add(node);
                }

                var json = new JsonObject
                {
                    ["rate"] = rate,
                    ["seconds"] = Math.Round(pace.Elapsed.TotalSeconds, 3),
                    ["window_seconds"] = Math.Round(figures.WindowMs / 1000.0, 3),
                    ["committed"] = committed,
                    ["publish_errors"] = pace.Failed,
                    ["publisher_max_behind"] = pace.MaxBehind,
                    ["messages_per_second"] = Math.Round(perSecond),
                    ["expected"] = expected,
                    ["received"] = received,
                    ["lost"] = lost,
                    ["duplicated"] = dup,
                    ["misrouted"] = after.Misrouted - before.Misrouted,
                    ["out_of_order"] = after.OutOfOrder - before.OutOfOrder,
                    ["closed_connections"] = after.Closed - before.Closed,
                    ["latency"] = ScenarioResult.LatencyJson(after.Latency),
                    ["publish_round_trip"] = ScenarioResult.LatencyJson(pace.RoundTrip),
                    ["nodes"] = nodes,
                    ["postgres"] = Service(cluster.PostgresPid, figures.PostgresCpuMs, figures.WindowMs, PerMessage(figures.PostgresCpuMs)),
                    ["redis"] = Service(cluster.RedisPid, figures.RedisCpuMs, figures.WindowMs, PerMessage(figures.RedisCpuMs)),
                    ["sequence_busy"] = Math.Round(figures.SequenceBusy, 3),
                    ["generator_cpu_cores"] = Math.Round(figures.GeneratorCpuMs / figures.WindowMs, 3),
                    ["other_cpu_cores"] = Math.Round(figures.OtherCores, 3),
                    ["machine_busy_cores"] = Math.Round(figures.MachineCores, 3),
                    ["busiest"] = figures.Busiest(),
                    ["pass"] = pass,
                };
                steps.Add(json);
                totalMessages += committed;
                for (var i = 0; i < NodeCount; i++)
                {
                    totalNodeCpuMs[i] += figures.NodeCpuMs[i];
                }

                before = after;
                if (pass)
                {
                    best = json;
                }
                else
                {
                    firstFailed ??= json;
                    if (++failures >= 2 && !allSteps)
                    {
                        // Two failed steps: past what the cluster sustains on this machine (one may be a blip).
                        break;
                    }
                }
            }

            result.Set("steps", steps);
            Summarise(result, best, firstFailed);
            if (idleNode && totalMessages > 0 && totalNodeCpuMs[0] > 0)
            {
                // Over every step together, so the low rates' fixed costs weigh as little as they do in the total.
                var publishing = totalNodeCpuMs[0] * 1000.0 / totalMessages;
                var idle = totalNodeCpuMs[2] * 1000.0 / totalMessages;
                var ratio = idle / publishing;
                result.Row("idle node C against publishing node A", $"{idle:F1} µs against {publishing:F1} µs per cluster message = {ratio:F2}× (all {totalMessages:N0} messages of the steps)");
                result.Set("idle_node_cpu_us_per_cluster_message", Math.Round(idle, 1));
                result.Set("publishing_node_cpu_us_per_cluster_message", Math.Round(publishing, 1));
                result.Set("idle_to_publishing_ratio", Math.Round(ratio, 3));
                result.Checks.Add(new TargetCheck("S6 CPU per cluster message of a node with no subscriber ÷ the publishing node's",
                    $"{ratio:F2} ({idle:F0} / {publishing:F0} µs)", "≤ 0.10 (issue 21)", ratio <= 0.10));
            }

            IdleScenario.FailureNotes(result, pools.Progress());
            result.Notes.Add("msg/s = publishes committed (201) per second, cluster-wide; X µs/msg = node X's CPU time (utime+stime) over the step ÷ messages committed cluster-wide; "
                + "CPU columns = % of one core; PG = the postmaster and all its backends; seq busy = the nodes' write batches' time added up ÷ the window (each batch holds the one "
                + "herald_sequences row lock from its UPDATE to its COMMIT, so near 100 % the global sequence serialises the cluster's writes); machine = busy cores of "
                + $"{Environment.ProcessorCount}; other = machine less nodes, PostgreSQL, Redis and generator; a step passes with p99 ≤ 100 ms, 0 lost, 0 duplicated, 0 publish errors, 0 closed");
            return result;
        }
        finally
        {
            foreach (var c in channels)
            {
                c.Dispose();
            }
        }
    }

    private static JsonObject Service(int? pid, long cpuMs, double windowMs, double perMessage) => new()
    {
        ["pid"] = pid,
        ["cpu_ms"] = cpuMs,
        ["cpu_cores"] = Math.Round(cpuMs / windowMs, 3),
        ["cpu_us_per_cluster_message"] = perMessage,
    };

    private static void Summarise(ScenarioResult result, JsonObject? best, JsonObject? firstFailed)
    {
        if (best is null)
        {
            result.Row("best passing step", "none passed");
        }
        else
        {
            var nodes = best["nodes"]!.AsArray();
            result.Row("best passing step", $"{best["messages_per_second"]} messages/s committed cluster-wide (set {best["rate"]}/s), p99 {ScenarioResult.Ms(best["latency"]!["p99_us"]!.GetValue<long>())} ms, "
                + $"0 lost, 0 duplicated; CPU per cluster message: " + string.Join(", ", nodes.Select(n => $"{n!["name"]} {n["cpu_us_per_cluster_message"]} µs ({n["cpu_us_per_cluster_message_net"]} net)"))
                + $", PostgreSQL {best["postgres"]!["cpu_us_per_cluster_message"]} µs, Redis {best["redis"]!["cpu_us_per_cluster_message"]} µs");
        }

        result.Set("best", best?.DeepClone());
        result.Set("best_messages_per_second", best?["messages_per_second"]?.DeepClone());
        if (firstFailed is not null)
        {
            result.Row("first failed step", $"set {firstFailed["rate"]}/s: {firstFailed["messages_per_second"]} messages/s, p99 {ScenarioResult.Ms(firstFailed["latency"]!["p99_us"]!.GetValue<long>())} ms, "
                + $"{firstFailed["lost"]} lost, {firstFailed["duplicated"]} duplicated, {firstFailed["publish_errors"]} publish errors; busiest: {firstFailed["busiest"]}");
        }

        result.Checks.Add(new TargetCheck("S6 highest cluster rate at p99 ≤ 100 ms, nothing lost", best is null ? "none" : $"{best["messages_per_second"]} msg/s", "measured (issue 21)", best is not null));
    }

    /// <summary>CPU samples of every process in the cluster at a step's start; <see cref="EndAsync"/> takes the differences.</summary>
    private sealed class Window
    {
        private readonly HeraldCluster _cluster;
        private readonly ProcSample?[] _nodes;
        private readonly long? _postgres;
        private readonly ProcSample? _redis;
        private readonly MachineSample? _machine;
        private readonly long _generator;
        private readonly WriterMetrics?[] _writers;

        private Window(HeraldCluster cluster, ProcSample?[] nodes, long? postgres, ProcSample? redis, MachineSample? machine, long generator, WriterMetrics?[] writers)
        {
            _cluster = cluster;
            _nodes = nodes;
            _postgres = postgres;
            _redis = redis;
            _machine = machine;
            _generator = generator;
            _writers = writers;
        }

        /// <param name="publishing">How many nodes (from A) take publishes, whose writers are scraped.</param>
        /// <param name="workerCpuMs">The workers' CPU so far (from their last statistics).</param>
        public static async Task<Window> StartAsync(HeraldCluster cluster, int publishing, long workerCpuMs)
        {
            var writers = await Task.WhenAll(cluster.Nodes.Take(publishing).Select(n => WriterMetrics.ScrapeAsync(n.Api)));
            return new Window(cluster, [.. cluster.Nodes.Select(n => n.Server.Sample())], cluster.PostgresPid is { } pg ? ProcSample.TreeCpuMs(pg) : null,
                cluster.RedisPid is { } redis ? ProcSample.Read(redis) : null, MachineSample.Read(), workerCpuMs + ScenarioContext.CoordinatorCpuMs(), writers);
        }

        public async Task<Figures> EndAsync(long workerCpuMs)
        {
            var nodes = _cluster.Nodes.Select(n => n.Server.Sample()).ToArray();
            var postgres = _cluster.PostgresPid is { } pg ? ProcSample.TreeCpuMs(pg) : null;
            var redis = _cluster.RedisPid is { } r ? ProcSample.Read(r) : null;
            var machine = MachineSample.Read();
            var generator = workerCpuMs + ScenarioContext.CoordinatorCpuMs() - _generator;
            var writers = await Task.WhenAll(_cluster.Nodes.Take(_writers.Length).Select(n => WriterMetrics.ScrapeAsync(n.Api)));
            var windowMs = _machine is { } m0 && machine is { } m1
                ? (m1.Timestamp - m0.Timestamp) * 1000.0 / Stopwatch.Frequency
                : (nodes[0]!.Value.Timestamp - _nodes[0]!.Value.Timestamp) * 1000.0 / Stopwatch.Frequency;
            var nodeCpu = nodes.Zip(_nodes, (b, a) => a is { } s0 && b is { } s1 ? s1.CpuMs - s0.CpuMs : 0).ToArray();
            var writerJson = _writers.Zip(writers, WriterMetrics.Json).ToArray();
            var batchMs = writerJson.Sum(w => w?["batch_ms_total"]?.GetValue<double>() ?? 0);
            var figures = new Figures
            {
                WindowMs = Math.Max(1, windowMs),
                NodeCpuMs = nodeCpu,
                NodeRssKb = [.. nodes.Select(s => s?.RssKb)],
                PostgresCpuMs = postgres is { } p1 && _postgres is { } p0 ? p1 - p0 : 0,
                RedisCpuMs = redis is { } r1 && _redis is { } r0 ? r1.CpuMs - r0.CpuMs : 0,
                GeneratorCpuMs = generator,
                Writers = writerJson,
                SequenceBusy = batchMs / Math.Max(1, windowMs),
                MachineCores = _machine is { } a && machine is { } b ? MachineSample.CoresBetween(a, b) : 0,
            };
            figures.OtherCores = Math.Max(0, figures.MachineCores - ((nodeCpu.Sum() + figures.PostgresCpuMs + figures.RedisCpuMs + generator) / figures.WindowMs));
            return figures;
        }
    }

    private sealed class Figures
    {
        public double WindowMs { get; init; }
        public long[] NodeCpuMs { get; init; } = [];
        public long?[] NodeRssKb { get; init; } = [];
        public long PostgresCpuMs { get; init; }
        public long RedisCpuMs { get; init; }
        public long GeneratorCpuMs { get; init; }
        public JsonObject?[] Writers { get; init; } = [];
        public double SequenceBusy { get; init; }
        public double MachineCores { get; init; }
        public double OtherCores { get; set; }

        /// <summary>What was busiest in the window, in cores (the global sequence as a share of the window), largest first.</summary>
        public string Busiest()
        {
            var parts = new List<(string Name, double Value)>
            {
                ("machine", MachineCores / Environment.ProcessorCount),
                ("PostgreSQL", PostgresCpuMs / WindowMs),
                ("Redis", RedisCpuMs / WindowMs),
                ("generator", GeneratorCpuMs / WindowMs),
                ("sequence", SequenceBusy),
            };
            parts.AddRange(NodeCpuMs.Select((ms, i) => ($"node {(char)('A' + i)}", ms / WindowMs)));
            return string.Join(", ", parts.OrderByDescending(p => p.Value).Select(p => p.Name == "machine"
                ? $"machine {p.Value * 100:F0}% of its {Environment.ProcessorCount} cores"
                : $"{p.Name} {p.Value * 100:F0}%{(p.Name == "sequence" ? " of the window" : " of a core")}"));
        }
    }
}
