using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using static Herald.Server.Tests.Mercure.MercureSubscriptionsTests;

namespace Herald.Server.Tests.Mercure;

/// <summary>
/// Mercure's active subscriptions on two nodes behind one real redis-server, sharing one store (as a cluster does):
/// node A in the test process, node B its own <c>dotnet herald.dll</c> process, so B can die by SIGKILL. The list is
/// the same from both nodes, each start and end is announced once, and a killed node's subscriptions end once, from A,
/// after its liveness expired. Also: the presence API with Redis stopped.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
[Collection(ProcessTestsCollection.Name)]
public sealed class MercureSubscriptionsClusterTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string ApiKey = "service-key-for-the-mercure-subscriptions-tests";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    private readonly TempDirectory _data = new("herald-msubs-");
    private HeraldTestNode _a = null!;
    private HeraldTestNode _b = null!;

    public async Task InitializeAsync()
    {
        if (!redis.IsRunning)
        {
            await redis.StartAsync();
        }

        var run = Guid.NewGuid().ToString("N")[..8];
        var settings = new Dictionary<string, string>(MercureSubscriptionsTests.Settings())
        {
            ["Herald:Redis:Url"] = redis.Url,
            ["Herald:Redis:ChannelPrefix"] = $"t{run}:topic:",
            ["Herald:Presence:KeyPrefix"] = $"t{run}:presence:",
            ["Herald:Presence:Interval"] = "00:00:00.300",
            ["Herald:Presence:Ttl"] = Ttl.ToString("c"),
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
        };
        _a = await HeraldTestNode.StartInProcessAsync(settings, _data.Path);
        _b = await HeraldTestNode.StartProcessAsync(settings, _data.Path);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _data.Dispose();
    }

    private static async Task<string> ListedAsync(HeraldTestNode node) =>
        MercureSubscriptionsTests.Topics((await GetAsync(node.Client, "/.well-known/mercure/subscriptions", Watcher())).Body);

    [Fact]
    public async Task TwoNodes_ListTheSameSubscriptions_AnnounceEachOnce_AndAKilledNodesSubscriptionsEndOnceAfterItsTtl()
    {
        await using var watcher = await SubscribeAsync(_a.Client, "topic=" + Uri.EscapeDataString(Everything), Watcher());
        Assert.Equal(Everything, (await NextSubscriptionAsync(watcher)).GetProperty("topic").GetString());

        var onB = await SubscribeAsync(_b.Client, "match=urn:on-b");
        var started = await NextSubscriptionAsync(watcher);
        Assert.Equal(("urn:on-b", true), (started.GetProperty("topic").GetString(), started.GetProperty("active").GetBoolean()));

        var both = string.Join(",", new[] { Everything, "urn:on-b" }.Order(StringComparer.Ordinal));
        await Poll.UntilAsync(async () => await ListedAsync(_a) == both && await ListedAsync(_b) == both, TimeSpan.FromSeconds(20));

        // A stream that ends on B: its end once, from B.
        var brief = await SubscribeAsync(_b.Client, "match=urn:brief");
        Assert.Equal(("urn:brief", true), Summary(await NextSubscriptionAsync(watcher)));
        await brief.DisposeAsync();
        Assert.Equal(("urn:brief", false), Summary(await NextSubscriptionAsync(watcher)));

        // B dies without a word: A claims its subscriptions once its node key has expired and announces their end.
        await _b.KillAsync();
        var ended = await NextSubscriptionAsync(watcher);
        Assert.Equal((started.GetProperty("id").GetString(), false), (ended.GetProperty("id").GetString(), ended.GetProperty("active").GetBoolean()));
        Assert.Equal(Everything, await ListedAsync(_a));
        await onB.DisposeAsync();

        // Once: the next event is a new subscription's start, not a second end (A's next claims found nothing).
        await using var later = await SubscribeAsync(_a.Client, "match=urn:later");
        Assert.Equal(("urn:later", true), Summary(await NextSubscriptionAsync(watcher)));
    }

    [Fact]
    public async Task ANodeThatStopsGracefully_AnnouncesTheEndOfItsSubscriptionsOnce()
    {
        await using var watcher = await SubscribeAsync(_a.Client, "topic=" + Uri.EscapeDataString(Everything), Watcher());
        Assert.Equal(Everything, (await NextSubscriptionAsync(watcher)).GetProperty("topic").GetString());
        await using var onB = await SubscribeAsync(_b.Client, "match=urn:draining");
        var started = await NextSubscriptionAsync(watcher);
        Assert.Equal(("urn:draining", true), Summary(started));

        // SIGTERM: the drain closes the stream, and B (or A, if it claims first) announces the end, once.
        Assert.Equal(0, await _b.StopAsync(TimeSpan.FromSeconds(30)));
        var ended = await NextSubscriptionAsync(watcher);
        Assert.Equal((started.GetProperty("id").GetString(), false), (ended.GetProperty("id").GetString(), ended.GetProperty("active").GetBoolean()));
        await using var later = await SubscribeAsync(_a.Client, "match=urn:after-drain");
        Assert.Equal(("urn:after-drain", true), Summary(await NextSubscriptionAsync(watcher)));
        Assert.Equal(Everything + ",urn:after-drain", await ListedAsync(_a));
    }

    [Fact]
    public async Task PresenceApi_AnswersBackplaneUnavailable_WhileRedisIsDown()
    {
        using var service = new HttpClient { BaseAddress = _a.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        service.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await service.GetAsync("/api/nodes")).StatusCode);

        await redis.StopAsync();
        foreach (var path in new[] { "/api/topics/room/presence", "/api/nodes", "/api/topics" })
        {
            using var response = await service.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("backplane_unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        }

        var (status, body, _) = await GetAsync(_a.Client, "/.well-known/mercure/subscriptions", Watcher());
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "backplane_unavailable"), (status, body.GetProperty("error").GetString()));
    }

    private static (string?, bool) Summary(JsonElement subscription) =>
        (subscription.GetProperty("topic").GetString(), subscription.GetProperty("active").GetBoolean());
}
