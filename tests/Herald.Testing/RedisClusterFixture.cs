namespace Herald.Testing;

/// <summary>
/// A real Redis Cluster on loopback: three masters (<c>redis-server --cluster-enabled yes</c>, no replicas), each on a
/// free port with its own temporary directory, joined by <c>redis-cli --cluster create</c>; ready once every node
/// reports <c>cluster_state:ok</c>.
/// </summary>
public sealed class RedisClusterFixture : IAsyncDisposable
{
    private readonly List<RedisServerFixture> _nodes = [];

    private RedisClusterFixture()
    {
    }

    /// <summary>The three masters.</summary>
    public IReadOnlyList<RedisServerFixture> Nodes => _nodes;

    /// <summary>The StackExchange.Redis configuration string a Herald node is given: every master (one would do).</summary>
    public string ConfigurationString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    public static async Task<RedisClusterFixture> StartAsync()
    {
        var cluster = new RedisClusterFixture();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                // nodes.conf lands in the server's own directory (--dir), so the three never share one.
                cluster._nodes.Add(await RedisServerFixture.StartNewAsync(new RedisServerSettings
                {
                    ExtraArguments = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
                }));
            }

            await RedisCli.RunAsync(cluster._nodes[0].Port,
                ["--cluster", "create", .. cluster._nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "0", "--cluster-yes"]);
            foreach (var node in cluster._nodes)
            {
                await Poll.UntilAsync(async () =>
                    (await RedisCli.RunAsync(node.Port, "CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30));
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
