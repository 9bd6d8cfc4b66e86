using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Two Herald nodes as separate processes sharing a real redis-server and a real PostgreSQL cluster behave as one.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class ScaleOutTests(ScaleOutTests.Infrastructure infrastructure) : IClassFixture<ScaleOutTests.Infrastructure>, IAsyncLifetime
{
    private readonly List<HeraldTestNode> _nodes = [];
    private HeraldTestNode _a = null!;
    private HeraldTestNode _b = null!;
    private string _database = "";

    public sealed class Infrastructure : IAsyncLifetime
    {
        public RedisServerFixture Redis { get; } = new();

        public PostgresFixture Postgres { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await Redis.InitializeAsync();
            Postgres = await PostgresFixture.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await Redis.DisposeAsync();
            await Postgres.DisposeAsync();
        }
    }

    public async Task InitializeAsync()
    {
        if (!infrastructure.Redis.IsRunning)
        {
            await infrastructure.Redis.StartAsync();
        }

        _database = "n" + Guid.NewGuid().ToString("N")[..12];
        await infrastructure.Postgres.CreateDatabaseAsync(_database);
        (_a, _b) = (await StartNodeAsync(), await StartNodeAsync());
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task<HeraldTestNode> StartNodeAsync()
    {
        var node = await HeraldTestNode.StartProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Storage:Provider"] = "postgres",
            ["Herald:Storage:ConnectionString"] = infrastructure.Postgres.ConnectionString(_database),
            ["Herald:Redis:Url"] = infrastructure.Redis.Url,
            ["Herald:Auth:SigningKey"] = "scale-out-test-signing-key-shared-by-both-nodes",
        });
        _nodes.Add(node);
        await WaitForAsync(async () => (await node.HealthAsync()).GetProperty("redis").GetString() == "connected", "redis connected");
        return node;
    }

    private static HttpClient ClientFor(HeraldTestNode node) => new() { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task PostAsync(HeraldTestNode node, Guest guest, string text)
    {
        using var client = ClientFor(node);
        using var response = await client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text });
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static string Text(System.Net.ServerSentEvents.SseItem<string> e) =>
        JsonDocument.Parse(e.Data).RootElement.GetProperty("message").GetProperty("text").GetString()!;

    [Fact]
    public async Task MessagePostedOnA_ArrivesOnAStreamHeldOnB_AndOnAItself()
    {
        var guest = await _a.OpenGuestDialogAsync("g");
        using var clientA = ClientFor(_a);
        using var clientB = ClientFor(_b);
        await using var onA = await SseTestClient.ConnectAsync(clientA, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var onB = await SseTestClient.ConnectAsync(clientB, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await PostAsync(_a, guest, "from A");
        await PostAsync(_b, guest, "from B");

        var a = await onA.TakeAsync(2);
        var b = await onB.TakeAsync(2);
        Assert.Equal(["from A", "from B"], a.Select(Text));
        Assert.Equal(a.Select(e => (e.EventId, e.Data)), b.Select(e => (e.EventId, e.Data)));
        Assert.True(await onA.IsQuietAsync(TimeSpan.FromMilliseconds(500)), "node A delivered an event twice");
        Assert.True(await onB.IsQuietAsync(TimeSpan.FromMilliseconds(100)), "node B delivered an event twice");
    }

    [Fact]
    public async Task IdentityRuleSwitchedOnA_EndsAnUnsignedGuestStreamHeldOnB()
    {
        var guest = await _a.OpenGuestDialogAsync("unsigned");
        using var clientB = ClientFor(_b);
        await using var onB = await SseTestClient.ConnectAsync(clientB, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        using var clientA = ClientFor(_a);
        using var login = await clientA.PostAsJsonAsync("/api/auth/login", new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword });
        clientA.DefaultRequestHeaders.Authorization = new("Bearer", (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString());
        using var rule = await clientA.PutAsJsonAsync($"/api/assistants/{guest.AssistantId}/identity", new { require_verified_identity = true });
        Assert.True(rule.IsSuccessStatusCode);

        // Within the documented 5 s, on the node that did not make the change (PostgreSQL store, no cache shared).
        var last = await onB.NextAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("disconnect", last.EventType);
        Assert.Equal("{\"reason\":\"auth_revoked\",\"detail\":\"unverified identity\"}", last.Data);
        await onB.WaitForEndAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task RedisCliPSubscribe_ShowsEveryChatMessageInSeed000Format()
    {
        // The runbook's own command, as a real redis-cli process: what it prints is what an operator sees.
        var guest = await _a.OpenGuestDialogAsync("seed");
        await using var cli = await RedisCli.PSubscribeAsync(infrastructure.Redis.Port, "ws:dialog:*");
        string[] texts = ["над Redis", "from A", "from B"];
        for (var i = 0; i < texts.Length; i++)
        {
            await PostAsync(i % 2 == 0 ? _b : _a, guest, texts[i]);
        }

        long lastId = 0;
        foreach (var text in texts)
        {
            var message = await cli.NextOnAsync($"ws:dialog:{guest.DialogId}", TimeSpan.FromSeconds(10));
            Assert.Equal("ws:dialog:*", message.Pattern);
            var json = JsonDocument.Parse(message.Payload).RootElement;
            Assert.Equal("message:new", json.GetProperty("type").GetString());
            Assert.Equal(text, json.GetProperty("message").GetProperty("text").GetString());
            Assert.True(json.GetProperty("event_id").GetInt64() > lastId);
            lastId = json.GetProperty("event_id").GetInt64();
        }
    }

    [Fact]
    public async Task ClientMovedFromAToB_WithLastEventId_MissesNothingAndGetsNoDuplicate()
    {
        var guest = await _a.OpenGuestDialogAsync("mover");
        using var clientA = ClientFor(_a);
        using var clientB = ClientFor(_b);
        string last;
        await using (var onA = await SseTestClient.ConnectAsync(clientA, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}"))
        {
            for (var i = 0; i < 5; i++)
            {
                await PostAsync(_a, guest, $"m{i}");
            }

            last = (await onA.TakeAsync(5))[^1].EventId!;
        }

        // Away: messages posted on both nodes.
        for (var i = 5; i < 15; i++)
        {
            await PostAsync(i % 2 == 0 ? _a : _b, guest, $"m{i}");
        }

        await using var onB = await SseTestClient.ConnectAsync(clientB, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", last);
        await PostAsync(_a, guest, "m15");
        var rest = await onB.TakeAsync(11);
        Assert.Equal(Enumerable.Range(5, 11).Select(i => $"m{i}"), rest.Select(Text));
        Assert.True(await onB.IsQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task ConcurrentWritersOnBothNodes_EverySubscriberGetsEveryEventOnceInIdOrder()
    {
        var guest = await _a.OpenGuestDialogAsync("busy");
        using var clientA = ClientFor(_a);
        using var clientB = ClientFor(_b);
        await using var onA = await SseTestClient.ConnectAsync(clientA, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var onB = await SseTestClient.ConnectAsync(clientB, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        const int PerWriter = 50;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await PostAsync(w % 2 == 0 ? _a : _b, guest, $"w{w}-{i}");
            }
        })));

        foreach (var stream in new[] { onA, onB })
        {
            var events = await stream.TakeAsync(4 * PerWriter);
            var ids = events.Select(e => long.Parse(e.EventId!)).ToList();
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(ids.Count, ids.Distinct().Count());
            // Each writer's own messages stay in the order it posted them.
            for (var w = 0; w < 4; w++)
            {
                Assert.Equal(Enumerable.Range(0, PerWriter).Select(i => $"w{w}-{i}"), events.Select(Text).Where(t => t.StartsWith($"w{w}-", StringComparison.Ordinal)));
            }

            Assert.True(await stream.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
        }
    }

    [Fact]
    public async Task RedisDown_SubscribersOnEveryNodeStillGetEveryDurableEvent_OnceEach()
    {
        var guest = await _a.OpenGuestDialogAsync("outage");
        using var clientA = ClientFor(_a);
        using var clientB = ClientFor(_b);
        await using var onA = await SseTestClient.ConnectAsync(clientA, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var onB = await SseTestClient.ConnectAsync(clientB, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await PostAsync(_a, guest, "before");
        Assert.Equal("before", Text(await onB.NextAsync()));
        Assert.Equal("before", Text(await onA.NextAsync()));

        await infrastructure.Redis.StopAsync();
        await WaitForAsync(async () => (await _a.HealthAsync()).GetProperty("status").GetString() == "degraded", "node A reports degraded");
        Assert.Equal("disconnected", (await _a.HealthAsync()).GetProperty("redis").GetString());
        for (var i = 0; i < 6; i++)
        {
            await PostAsync(i % 2 == 0 ? _a : _b, guest, $"during{i}");
        }

        await infrastructure.Redis.StartAsync();
        await WaitForAsync(async () => (await _b.HealthAsync()).GetProperty("redis").GetString() == "connected", "node B reconnected");
        await PostAsync(_b, guest, "after");

        foreach (var stream in new[] { onA, onB })
        {
            var events = await stream.TakeAsync(7, TimeSpan.FromSeconds(15));
            Assert.Equal(Enumerable.Range(0, 6).Select(i => $"during{i}").Append("after"), events.Select(Text));
            Assert.True(await stream.IsQuietAsync(TimeSpan.FromMilliseconds(500)));
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }
}
