using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Backplane;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Herald on the Redis topologies that outgrow one server, each real and on loopback: Sentinel (a master, a replica,
/// three sentinels; the master killed under chat load) and Cluster (three masters) in both channel modes. Two nodes
/// share a store; chat messages are posted to both, alternately, and each node's stream must receive every message
/// exactly once, in order. Bounded: about 150 messages per test, every wait with a deadline.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class RedisTopologyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("interest")]
    [InlineData("all")]
    public async Task Sentinel_MasterKilledUnderChatLoad_NodesFollowThePromotedReplica_EveryMessageOnceInOrder(string subscribe)
    {
        await using var sentinel = await RedisSentinelFixture.StartAsync();
        var timings = new Dictionary<string, TimeSpan>();
        await RunChatAsync(sentinel.ConfigurationString, "classic", async () =>
        {
            var clock = Stopwatch.StartNew();
            await sentinel.Master.StopAsync();
            await Poll.UntilAsync(async () => await sentinel.MasterPortAsync() == sentinel.Replica.Port, Deadline);
            timings["sentinels promoted the replica"] = clock.Elapsed;

            // Each node's subscriptions are re-made on the promoted replica: the nodes followed it. With "all" those are the
            // two patterns; with "interest" the commit-marker channel (and the dialog's own channel) on both nodes.
            await Poll.UntilAsync(async () => subscribe == "all"
                ? HeraldSubscribers(await RedisCli.RunAsync(sentinel.Replica.Port, "CLIENT", "LIST"), "psub=2") == 2
                : (await RedisCli.RunAsync(sentinel.Replica.Port, "PUBSUB", "NUMSUB", "herald-markers:herald:topic:")).Contains("\n2", StringComparison.Ordinal), Deadline);
            timings["both nodes subscribed on the new master"] = clock.Elapsed;
        }, timings, subscribe);

        foreach (var (what, after) in timings)
        {
            output.WriteLine($"{what}: {after.TotalMilliseconds:F0} ms");
        }
    }

    [Fact]
    public async Task Cluster_ClassicMode_EveryMessageOnceInOrder_AndRedisCliPSubscribeShowsEachInSeed000Format()
    {
        await using var cluster = await RedisClusterFixture.StartAsync();
        // The runbook's command against any one node of the Cluster: classic PUBLISH reaches every node.
        await using var cli = await RedisCli.PSubscribeAsync(cluster.Nodes[2].Port, "ws:dialog:*");
        var (guest, texts) = await RunChatAsync(cluster.ConfigurationString, "classic", during: null, timings: null);

        foreach (var text in texts)
        {
            var message = await cli.NextOnAsync($"ws:dialog:{guest.DialogId}", Deadline);
            var json = JsonDocument.Parse(message.Payload).RootElement;
            Assert.Equal("message:new", json.GetProperty("type").GetString());
            Assert.Equal(text, json.GetProperty("message").GetProperty("text").GetString());
            Assert.True(json.GetProperty("event_id").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task Cluster_ShardedMode_EveryMessageOnceInOrder_OverShardChannelsSpreadOnEveryMaster()
    {
        await using var cluster = await RedisClusterFixture.StartAsync();
        var perMaster = new List<int>();
        // SSUBSCRIBE went to the master that owns each shard channel's slot: every master carries some of them, so
        // each message is handled by one shard, not broadcast to all three.
        await RunChatAsync(cluster.ConfigurationString, "sharded", async () => perMaster.AddRange(await ShardChannelsPerMasterAsync(cluster)), timings: null);

        output.WriteLine($"shard channels per master: {string.Join(", ", perMaster)}");
        Assert.Equal(16, perMaster.Sum());
        Assert.All(perMaster, count => Assert.True(count > 0, $"a master carries no shard channel: {string.Join(", ", perMaster)}"));
    }

    [Fact]
    public async Task Cluster_ShardedMode_SubscribeInterest_EveryMessageOnceInOrder_OnlyTheWantedTopicsShardSubscribed()
    {
        await using var cluster = await RedisClusterFixture.StartAsync();
        var perMaster = new List<int>();
        // Both nodes hold a stream of the one dialog only: its shard channel is the only one subscribed, on the master that
        // owns its slot (the commit markers travel on herald-markers:…, outside the shard channels).
        await RunChatAsync(cluster.ConfigurationString, "sharded", async () => perMaster.AddRange(await ShardChannelsPerMasterAsync(cluster)), timings: null,
            subscribe: "interest");

        output.WriteLine($"shard channels per master: {string.Join(", ", perMaster)}");
        Assert.Equal(1, perMaster.Sum());
    }

    /// <summary>How many shard channels (<c>herald:shard:*</c>) have subscribers on each master.</summary>
    private static async Task<List<int>> ShardChannelsPerMasterAsync(RedisClusterFixture cluster)
    {
        List<int> perMaster = [];
        foreach (var node in cluster.Nodes)
        {
            var channels = (await RedisCli.RunAsync(node.Port, "PUBSUB", "SHARDCHANNELS", RedisChannels.ShardChannelPrefix + "*"))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            perMaster.Add(channels.Length);
        }

        return perMaster;
    }

    private static int HeraldSubscribers(string clientList, string subscriptions) =>
        clientList.Split('\n').Count(line => line.Contains(" name=herald-", StringComparison.Ordinal) && line.Contains($" {subscriptions} ", StringComparison.Ordinal));

    /// <summary>
    /// Two in-process nodes on <paramref name="redis"/> sharing one SQLite store; a guest dialog watched on both; chat
    /// messages posted to A and B in turn every 25 ms — 60 before <paramref name="during"/> (a failover, or a look at
    /// Redis while the nodes are up), as many while it runs, 40 after — then each node's stream must hold exactly the posted texts, in order. The largest post→receive
    /// delay per node goes to <paramref name="timings"/>.
    /// </summary>
    private async Task<(Guest Guest, List<string> Texts)> RunChatAsync(string redis, string mode, Func<Task>? during, Dictionary<string, TimeSpan>? timings,
        string subscribe = "all")
    {
        var directory = Directory.CreateTempSubdirectory("herald-topology-").FullName;
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["Herald:Redis:Url"] = redis,
                ["Herald:Redis:ChannelMode"] = mode,
                ["Herald:Redis:Subscribe"] = subscribe,
                // One guest posts all of the load; the abuse limits would refuse it.
                ["Herald:Limits:MessagesPerGuestPerSecond"] = "0",
                ["Herald:Limits:MessagesPerIpPerSecond"] = "0",
            };
            await using var a = await HeraldTestNode.StartInProcessAsync(settings, directory);
            await using var b = await HeraldTestNode.StartInProcessAsync(settings, directory);
            await Poll.UntilAsync(async () => await RedisStateAsync(a) == "connected" && await RedisStateAsync(b) == "connected", Deadline);

            var guest = await a.OpenGuestDialogAsync("topology");
            var url = $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";
            await using var onA = await SseTestClient.ConnectAsync(a.Client, url);
            await using var onB = await SseTestClient.ConnectAsync(b.Client, url);
            var posted = new ConcurrentDictionary<string, long>();
            var readA = ReadUntilEndAsync(onA);
            var readB = ReadUntilEndAsync(onB);

            List<string> texts = [];
            async Task PostAsync(int count)
            {
                for (var i = 0; i < count; i++)
                {
                    var text = $"m{texts.Count}";
                    posted[text] = Stopwatch.GetTimestamp();
                    var node = texts.Count % 2 == 0 ? a : b;
                    using var response = await node.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text });
                    Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    texts.Add(text);
                    // Pacing, not waiting for something: a steady load of about 40 messages/s.
                    await Task.Delay(25);
                }
            }

            await PostAsync(60);
            if (during is not null)
            {
                var disrupting = during();
                while (!disrupting.IsCompleted)
                {
                    await PostAsync(1);
                }

                await disrupting;
            }

            await PostAsync(40);
            texts.Add("end");
            posted["end"] = Stopwatch.GetTimestamp();
            using (var response = await a.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text = "end" }))
            {
                Assert.True(response.IsSuccessStatusCode);
            }

            foreach (var (name, read) in new[] { ("A", readA), ("B", readB) })
            {
                var received = await read.WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(texts, received.Select(r => r.Text));
                var worst = received.Max(r => Stopwatch.GetElapsedTime(posted[r.Text], r.At));
                timings?.Add($"largest post-to-receive delay on node {name}", worst);
                output.WriteLine($"node {name}: {received.Count} messages, largest post-to-receive delay {worst.TotalMilliseconds:F0} ms");
            }

            return (guest, texts);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string?> RedisStateAsync(HeraldTestNode node) => (await node.HealthAsync()).GetProperty("redis").GetString();

    private static async Task<List<(string Text, long At)>> ReadUntilEndAsync(SseTestClient stream)
    {
        List<(string, long)> received = [];
        while (true)
        {
            var item = await stream.NextAsync(TimeSpan.FromSeconds(60));
            using var json = JsonDocument.Parse(item.Data);
            if (!json.RootElement.TryGetProperty("message", out var message))
            {
                continue;
            }

            var text = message.GetProperty("text").GetString()!;
            received.Add((text, Stopwatch.GetTimestamp()));
            if (text == "end")
            {
                return received;
            }
        }
    }
}
