using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Presence and the server API across two nodes behind one real redis-server (issue 17): node A in the test process,
/// node B its own <c>dotnet herald.dll</c> process, so B can die by SIGKILL without saying goodbye. Each node has its
/// own SQLite store: presence and control messages travel through Redis only, and nothing here reads events back.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
[Collection(ProcessTestsCollection.Name)]
public sealed class PresenceClusterTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string ApiKey = "service-key-for-the-presence-cluster-tests";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);

    private HeraldTestNode _a = null!;
    private HeraldTestNode _b = null!;
    private HttpClient _serviceA = null!;
    private HttpClient _serviceB = null!;

    public async Task InitializeAsync()
    {
        if (!redis.IsRunning)
        {
            await redis.StartAsync();
        }

        // Each test gets its own key prefix and control channel, so what one left in Redis cannot answer for another.
        var run = Guid.NewGuid().ToString("N")[..8];
        var settings = new Dictionary<string, string>
        {
            ["Herald:Redis:Url"] = redis.Url,
            ["Herald:Redis:ChannelPrefix"] = $"t{run}:topic:",
            ["Herald:Presence:KeyPrefix"] = $"t{run}:presence:",
            ["Herald:Presence:Interval"] = "00:00:00.300",
            ["Herald:Presence:Ttl"] = Ttl.ToString("c"),
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
        };
        _a = await HeraldTestNode.StartInProcessAsync(settings);
        _b = await HeraldTestNode.StartProcessAsync(settings);
        _serviceA = ServiceClient(_a);
        _serviceB = ServiceClient(_b);
        await Poll.UntilAsync(async () => (await NodesAsync()).Count == 2, TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        _serviceA.Dispose();
        _serviceB.Dispose();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static HttpClient ServiceClient(HeraldTestNode node)
    {
        var client = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    // Both nodes run in Development with the same public signing key: a token A issues is valid on B.
    private Task<SseTestClient> OperatorStreamAsync(HeraldTestNode node, long operatorId, string topic) =>
        SseTestClient.ConnectAsync(node.Client, $"/api/events?topic={topic}&token={_a.GetService<TokenService>().Issue(operatorId)}");

    private async Task<List<JsonElement>> NodesAsync() =>
        [.. (await _serviceA.GetFromJsonAsync<JsonElement>("/api/nodes")).GetProperty("nodes").EnumerateArray()];

    private async Task<string> PresenceAsync(HttpClient client, string topic)
    {
        var body = await client.GetFromJsonAsync<JsonElement>($"/api/topics/{topic}/presence");
        return string.Join(",", body.GetProperty("subjects").EnumerateArray()
            .Select(s => $"{s.GetProperty("kind").GetString()}:{s.GetProperty("id").GetString()}x{s.GetProperty("connections").GetInt64()}"));
    }

    [Fact]
    public async Task Presence_IsTheSameFromBothNodes_AndAKilledNodesUsersDisappearWithinTheTtl()
    {
        await using var onA = await OperatorStreamAsync(_a, 1, "room");
        await using var alsoOnA = await OperatorStreamAsync(_a, 5, "room");
        var onB = await OperatorStreamAsync(_b, 5, "room");
        await using var serviceOnB = await SseTestClient.ConnectAsync(_serviceB, "/api/events?topic=room");

        const string Everyone = "operator:1x1,operator:5x2,service:api-keyx1";
        await Poll.UntilAsync(async () => await PresenceAsync(_serviceA, "room") == Everyone && await PresenceAsync(_serviceB, "room") == Everyone);
        var topics = (await _serviceA.GetFromJsonAsync<JsonElement>("/api/topics")).GetProperty("topics").EnumerateArray().ToList();
        Assert.Equal(4, Assert.Single(topics, t => t.GetProperty("topic").GetString() == "room").GetProperty("connections").GetInt64());
        var nodes = await NodesAsync();
        Assert.Equal([2L, 2L], nodes.Select(n => n.GetProperty("connections").GetInt64()));
        Assert.Equal([true, false], nodes.Select(n => n.GetProperty("self").GetBoolean()));

        await _b.KillAsync();
        var killed = System.Diagnostics.Stopwatch.StartNew();
        await Poll.UntilAsync(async () => await PresenceAsync(_serviceA, "room") == "operator:1x1,operator:5x1", Ttl + TimeSpan.FromSeconds(5));
        // Gone after the node key's expiry, not before: a node is alive until Ttl has passed without a refresh.
        Assert.True(killed.Elapsed < Ttl + TimeSpan.FromSeconds(2), $"took {killed.Elapsed}");
        Assert.Single(await NodesAsync());
        await onB.DisposeAsync();
    }

    [Fact]
    public async Task DisconnectOnA_EndsTheSubjectsStreamsOnBothNodes_AndNoOneElses()
    {
        await using var targetA = await OperatorStreamAsync(_a, 9, "jobs");
        await using var targetB = await OperatorStreamAsync(_b, 9, "jobs");
        await using var targetB2 = await OperatorStreamAsync(_b, 9, "other");
        await using var bystanderB = await OperatorStreamAsync(_b, 10, "jobs");
        await Poll.UntilAsync(async () => await PresenceAsync(_serviceA, "jobs") == "operator:10x1,operator:9x2");

        using var op = await _a.OperatorClientAsync();
        using var response = await op.PostAsJsonAsync("/api/disconnect", new { kind = "operator", id = "9" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("closed_on_this_node").GetInt32());

        foreach (var stream in new[] { targetA, targetB, targetB2 })
        {
            var last = await stream.NextAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("disconnect", last.EventType);
            Assert.Contains("\"reason\":\"server_disconnect\"", last.Data, StringComparison.Ordinal);
            await stream.WaitForEndAsync(TimeSpan.FromSeconds(10));
        }

        Assert.True(await bystanderB.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "another subject's stream on B was closed");
        await Poll.UntilAsync(async () => await PresenceAsync(_serviceB, "jobs") == "operator:10x1");
    }
}
