using System.Globalization;

namespace Herald.Testing;

/// <summary>
/// Redis Sentinel on loopback, from Debian's redis-server and redis-sentinel: a master, a replica of it and three
/// sentinels (quorum 2) watching the service <see cref="ServiceName"/>, each on a free port with its own temporary
/// directory. Timeouts are short (down after 1 s, failover timeout 3 s) so that a failover takes about two seconds
/// and a test of it stays bounded.
/// </summary>
public sealed class RedisSentinelFixture : IAsyncDisposable
{
    public const string ServiceName = "herald";

    private readonly List<RedisServerFixture> _sentinels = [];

    private RedisSentinelFixture(RedisServerFixture master, RedisServerFixture replica)
    {
        Master = master;
        Replica = replica;
    }

    /// <summary>The server that is master at start.</summary>
    public RedisServerFixture Master { get; }

    /// <summary>Its replica, which Sentinel promotes when the master dies.</summary>
    public RedisServerFixture Replica { get; }

    /// <summary>The StackExchange.Redis configuration string a node is given: the three sentinels and the service name.</summary>
    public string ConfigurationString =>
        string.Join(',', _sentinels.Select(s => $"127.0.0.1:{s.Port}")) + ",serviceName=" + ServiceName;

    public static async Task<RedisSentinelFixture> StartAsync()
    {
        var master = await RedisServerFixture.StartNewAsync(new RedisServerSettings());
        RedisServerFixture? replica = null;
        try
        {
            replica = await RedisServerFixture.StartNewAsync(new RedisServerSettings
            {
                ExtraArguments = ["--replicaof", master.Host, Port(master)],
            });
            var fixture = new RedisSentinelFixture(master, replica);
            try
            {
                var configuration = $"""
                    sentinel monitor {ServiceName} 127.0.0.1 {Port(master)} 2
                    sentinel down-after-milliseconds {ServiceName} 1000
                    sentinel failover-timeout {ServiceName} 3000
                    sentinel parallel-syncs {ServiceName} 1

                    """;
                for (var i = 0; i < 3; i++)
                {
                    fixture._sentinels.Add(await RedisServerFixture.StartNewAsync(new RedisServerSettings { SentinelConfiguration = configuration }));
                }

                await fixture.WaitUntilWatchedAsync();
                return fixture;
            }
            catch
            {
                await fixture.DisposeAsync();
                throw;
            }
        }
        catch when (replica is null)
        {
            await master.DisposeAsync();
            throw;
        }
    }

    /// <summary>The port of the master every sentinel names now.</summary>
    public async Task<int> MasterPortAsync()
    {
        var lines = (await RedisCli.RunAsync(_sentinels[0].Port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return int.Parse(lines[1], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sentinel in _sentinels)
        {
            await sentinel.DisposeAsync();
        }

        await Replica.DisposeAsync();
        await Master.DisposeAsync();
    }

    private static string Port(RedisServerFixture server) => server.Port.ToString(CultureInfo.InvariantCulture);

    // A failover needs the replica in sync and the sentinels aware of each other (they vote) and of the replica.
    private async Task WaitUntilWatchedAsync()
    {
        await Poll.UntilAsync(async () =>
            (await RedisCli.RunAsync(Replica.Port, "INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30));
        foreach (var sentinel in _sentinels)
        {
            await Poll.UntilAsync(async () =>
                    Count(await RedisCli.RunAsync(sentinel.Port, "SENTINEL", "SENTINELS", ServiceName), "runid") == 2
                    && Count(await RedisCli.RunAsync(sentinel.Port, "SENTINEL", "REPLICAS", ServiceName), "master-link-status") == 1,
                TimeSpan.FromSeconds(30));
        }
    }

    private static int Count(string output, string field) =>
        output.Split('\n').Count(line => line.Trim() == field);
}
