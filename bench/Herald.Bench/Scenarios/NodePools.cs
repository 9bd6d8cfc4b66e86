using Herald.Bench.Load;
using Herald.Bench.Report;

namespace Herald.Bench.Scenarios;

/// <summary>
/// Subscribers held on one or more nodes: one worker pool per node (a worker connects to one port), with the
/// figures per node and summed.
/// </summary>
internal sealed class NodePools : IAsyncDisposable
{
    private readonly IReadOnlyList<ChatNode> _nodes;
    private readonly WorkerPool[] _pools;

    private NodePools(IReadOnlyList<ChatNode> nodes, WorkerPool[] pools)
    {
        _nodes = nodes;
        _pools = pools;
    }

    /// <summary>Connects <paramref name="subscriptions"/>[i] to node i, all nodes at once; returns when every pool is done.</summary>
    public static async Task<(NodePools Pools, double Seconds)> ConnectAsync(IReadOnlyList<ChatNode> nodes, IReadOnlyList<Subscription>[] subscriptions, ProgressLine progress)
    {
        var connected = await Task.WhenAll(nodes.Select((node, i) => node.Context.ConnectAsync(subscriptions[i], progress)));
        var pools = new NodePools(nodes, connected.Select(c => c.Pool).ToArray());
        if (nodes.Count > 1)
        {
            progress.SetStatus(() => pools.Status("connecting"));
        }

        return (pools, connected.Max(c => c.Seconds));
    }

    /// <summary>Sum of the workers' latest progress reports.</summary>
    public PoolStats Progress() => Sum(_pools.Select(p => p.Progress()).ToArray());

    /// <summary>The progress line: S3's for one node; totals with each node's RSS and CPU for several.</summary>
    public string Status(string phase)
    {
        if (_pools.Length == 1)
        {
            return _nodes[0].Context.Status(_pools[0], phase);
        }

        var p = Progress();
        var nodes = string.Join(" ", _nodes.Select(n => n.Context.Server.Sample() is { } s ? $"{n.Name}-rss {s.RssKb / 1024.0:F0} MB" : ""));
        return $"{phase}: conns {p.Established:N0}/{p.Requested:N0} failed {p.Failed:N0} closed {p.Closed:N0} recv {p.Received:N0} dup {p.Duplicates:N0} {nodes} gen-cpu {(p.CpuMs + ScenarioContext.CoordinatorCpuMs()) / 1000.0:F1}s";
    }

    /// <summary><see cref="ScenarioContext.DrainAsync"/> on every node's pool at once: the totals and each node's figures.</summary>
    public async Task<(PoolStats All, PoolStats[] ByNode)> DrainAsync(long[] published, bool histogram, bool reset, TimeSpan timeout, bool keepDeliveries = false)
    {
        var byNode = await Task.WhenAll(_pools.Select(p => ScenarioContext.DrainAsync(p, published, histogram, reset, timeout, keepDeliveries)));
        return (Sum(byNode), byNode);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools)
        {
            await pool.DisposeAsync();
        }
    }

    private static PoolStats Sum(PoolStats[] parts)
    {
        if (parts.Length == 1)
        {
            return parts[0];
        }

        var sum = new PoolStats();
        foreach (var s in parts)
        {
            sum.Requested += s.Requested;
            sum.Established += s.Established;
            sum.Failed += s.Failed;
            sum.Closed += s.Closed;
            sum.Expected += s.Expected;
            sum.Received += s.Received;
            sum.Duplicates += s.Duplicates;
            sum.Misrouted += s.Misrouted;
            sum.OutOfOrder += s.OutOfOrder;
            sum.Heartbeats += s.Heartbeats;
            sum.Bytes += s.Bytes;
            sum.MaxSilenceMs = Math.Max(sum.MaxSilenceMs, s.MaxSilenceMs);
            sum.CpuMs += s.CpuMs;
            sum.Latency.AddSparse(s.Latency.ToSparse(), s.Latency.Max);
            sum.ConnectLatency.AddSparse(s.ConnectLatency.ToSparse(), s.ConnectLatency.Max);
            sum.Deliveries.AddRange(s.Deliveries);
            foreach (var (reason, count) in s.Failures)
            {
                sum.Failures[reason] = sum.Failures.GetValueOrDefault(reason) + count;
            }
        }

        return sum;
    }
}
