using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Tests.Auth;

/// <summary>
/// Subscriber tokens an application issues (issue 17): a user reaches the topics its token grants on SSE, long-poll
/// and the topic socket, publishes where it may (with its sub in the event), refreshes in band, and every hostile
/// token or topic gets a clear 401/403 (or close code) that names what was refused.
/// </summary>
public sealed class AppTokenTests(AppTokenTests.Fixture fixture) : IClassFixture<AppTokenTests.Fixture>
{
    private const string Audience = "shop-app";
    private const string ApiKey = "service-key-for-the-app-token-tests";

    private readonly HeraldTestNode _server = fixture.Server;

    /// <summary>One node with an app key ring (HS256, audience checked) and a service key.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public HeraldTestNode Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:AppTokens:Keys:0:Secret"] = AppTokenMinter.Secret,
            ["Herald:AppTokens:Audience"] = Audience,
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
        });

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private static string Token(string sub, string[] subscribe, string[]? publish = null) => AppTokenMinter.Mint(sub, subscribe, publish, audience: Audience);

    private async Task<long> ServicePublishAsync(string topic, object data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = JsonContent.Create(new { topic, @event = "note", data }) };
        request.Headers.Add("X-Api-Key", ApiKey);
        using var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string detailPart)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode} {body}");
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, json.GetProperty("error").GetString());
        Assert.Contains(detailPart, json.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sse_AppToken_ReceivesItsGrantedTopicsOnly()
    {
        var token = Token("42", ["user:42", "orders:*"]);
        await using var stream = await SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic=user:42&topic=orders:7&token={token}");
        await ServicePublishAsync("user:43", new { n = 0 });
        await ServicePublishAsync("user:42", new { n = 1 });
        await ServicePublishAsync("orders:7", new { n = 2 });
        var events = await stream.TakeAsync(2, TimeSpan.FromSeconds(10));
        Assert.Equal(["{\"n\":1}", "{\"n\":2}"], events.Select(e => e.Data));

        using var foreign = await _server.Client.GetAsync($"/api/events?topic=user:42&topic=user:43&token={token}");
        await AssertErrorAsync(foreign, HttpStatusCode.Forbidden, "forbidden", "does not grant subscribing to 'user:43'");
    }

    [Fact]
    public async Task LongPoll_AppToken_ReceivesItsGrantedTopicsOnly()
    {
        var token = Token("poller", ["poll:*"]);
        var head = (await (await _server.Client.GetAsync($"/api/poll?topic=poll:a&token={token}")).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("last_event_id").GetInt64();
        await ServicePublishAsync("poll:b", new { n = 0 });
        var id = await ServicePublishAsync("poll:a", new { n = 1 });
        var answer = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/poll?topic=poll:a&after_id={head}&timeout=5&token={token}");
        var only = Assert.Single(answer.GetProperty("events").EnumerateArray());
        Assert.Equal(id, only.GetProperty("id").GetInt64());

        using var refused = await _server.Client.GetAsync($"/api/poll?topic=other&after_id={head}&token={token}");
        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "forbidden", "'other'");
    }

    [Fact]
    public async Task TopicSocket_AppToken_ReceivesPublishesWithItsSub_AndARefusedTopicClosesWith4003()
    {
        var token = Token("ws-user", ["room:1"], publish: ["room:1"]);
        await using var socket = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/topics?topic=room:1&token={token}");
        await socket.SendAsync("{\"type\":\"publish\",\"topic\":\"room:1\",\"event\":\"say\",\"data\":{\"text\":\"hi\"},\"ref\":\"r1\"}");

        // The event and the answer both arrive, in either order.
        JsonElement? published = null, delivered = null;
        for (var i = 0; i < 2; i++)
        {
            var frame = await socket.ReceiveJsonAsync();
            if (frame.TryGetProperty("type", out var type) && type.GetString() == "published")
            {
                published = frame;
            }
            else
            {
                delivered = frame;
            }
        }

        Assert.Equal("r1", published!.Value.GetProperty("ref").GetString());
        Assert.Equal(published.Value.GetProperty("event_id").GetInt64(), delivered!.Value.GetProperty("event_id").GetInt64());
        Assert.Equal("say", delivered.Value.GetProperty("event").GetString());
        Assert.Equal("ws-user", delivered.Value.GetProperty("sub").GetString());
        Assert.Equal("hi", delivered.Value.GetProperty("data").GetProperty("text").GetString());

        await socket.SendAsync("{\"type\":\"publish\",\"topic\":\"room:2\",\"data\":1,\"ref\":\"r2\"}");
        var refusal = await socket.ReceiveJsonAsync();
        Assert.Equal("forbidden", refusal.GetProperty("error").GetString());
        Assert.Equal("r2", refusal.GetProperty("ref").GetString());
        Assert.Contains("'room:2'", refusal.GetProperty("detail").GetString(), StringComparison.Ordinal);

        await using var refused = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/topics?topic=room:1&topic=room:9&token={token}");
        var (code, reason) = await refused.WaitForCloseAsync();
        Assert.Equal(4003, code);
        Assert.Contains("'room:9'", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publish_Http_GrantedTopicCarriesTheSub_OthersAre403()
    {
        var token = Token("7", ["feed:7"], publish: ["feed:*"]);
        await using var stream = await SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic=feed:7&token={token}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = JsonContent.Create(new { topic = "feed:7", @event = "like", data = new { post = 3 } }) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var item = await stream.NextAsync();
        Assert.Equal("like", item.EventType);
        Assert.Equal("{\"sub\":\"7\",\"data\":{\"post\":3}}", item.Data);
    }

    public static TheoryData<string, string, int, string, string> HostileCases()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var wrongKey = AppTokenMinter.Mint("u", ["news"], key: AppTokenMinter.HsKey("a-secret-the-node-does-not-have-0123456789"), audience: Audience);
        var noExp = AppTokenMinter.Sign(new() { ["sub"] = "u", ["herald"] = new Dictionary<string, object> { ["subscribe"] = new[] { "news" } } },
            AppTokenMinter.HsKey(AppTokenMinter.Secret), SecurityAlgorithms.HmacSha256, expires: null, Audience);
        // path ({t} = the token), status, error code, what the detail names
        return new TheoryData<string, string, int, string, string>
        {
            { "topic outside the grant", $"/api/events?topic=secret&token={Token("u", ["news"])}", 403, "forbidden", "'secret'" },
            { "pattern into chat (*)", $"/api/events?topic=dialogs&token={Token("u", ["*"])}", 403, "forbidden", "'dialogs' is a reserved chat topic" },
            { "pattern into chat (d*)", $"/api/events?topic=dialog:1&token={Token("u", ["d*"])}", 403, "forbidden", "'dialog:1' is a reserved chat topic" },
            { "exact chat topic", $"/api/poll?topic=dialog:1&token={Token("u", ["dialog:1"])}", 403, "forbidden", "'dialog:1' is a reserved chat topic" },
            { "wrong key", $"/api/events?topic=news&token={wrongKey}", 401, "unauthorized", "bad signature" },
            { "alg none", $"/api/events?topic=news&token={AppTokenMinter.AlgNone("u", ["news"])}", 401, "unauthorized", "algorithm not allowed" },
            { "expired", $"/api/events?topic=news&token={AppTokenMinter.Mint("u", ["news"], expires: DateTime.UtcNow.AddMinutes(-1), audience: Audience)}", 401, "unauthorized", "token expired" },
            { "missing exp", $"/api/events?topic=news&token={noExp}", 401, "unauthorized", "missing exp" },
            { "another audience", $"/api/events?topic=news&token={AppTokenMinter.Mint("u", ["news"], audience: "another-app")}", 401, "unauthorized", "wrong audience" },
            { "bad grant pattern", $"/api/events?topic=news&token={Token("u", ["ne*ws"])}", 401, "unauthorized", "herald.subscribe" },
            { "app token on an operator endpoint", $"/api/dialogs?token={Token("u", ["*"])}", 401, "unauthorized", "operator token" },
        };
    }

    [Theory]
    [MemberData(nameof(HostileCases))]
    public async Task Hostile_AppTokens_AreRefusedWithAClearError(string name, string path, int status, string code, string detail)
    {
        using var response = await _server.Client.GetAsync(path);
        await AssertErrorAsync(response, (HttpStatusCode)status, code, detail);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Fact]
    public async Task Hostile_PublishNotGranted_Is403_AndPublishesNothing()
    {
        var token = Token("reader", ["board"]);
        await using var stream = await SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic=board&token={token}");
        foreach (var topic in new[] { "board", "dialog:1" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish") { Content = JsonContent.Create(new { topic, data = 1 }) };
            request.Headers.Authorization = new("Bearer", topic == "board" ? token : Token("writer", [], publish: ["*"]));
            using var response = await _server.Client.SendAsync(request);
            await AssertErrorAsync(response, HttpStatusCode.Forbidden, "forbidden", $"'{topic}'");
        }

        Assert.True(await stream.IsQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Stream_AppTokenNearExpiry_IsRefreshedBySameSub_NotByAnotherOrANarrowerGrant()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:AppTokens:Keys:0:Secret"] = AppTokenMinter.Secret,
            ["Herald:Streams:AuthWarningLead"] = "00:00:03",
        });
        var first = AppTokenMinter.Mint("9", ["tick"], expires: DateTime.UtcNow.AddSeconds(6));
        await using var stream = await SseTestClient.ConnectAsync(server.Client, $"/api/events?topic=tick&token={first}");
        var warning = await stream.NextAsync(TimeSpan.FromSeconds(8));
        Assert.Equal("auth-expiring", warning.EventType);
        var refresh = JsonDocument.Parse(warning.Data).RootElement.GetProperty("refresh").GetString()!;

        async Task<HttpStatusCode> RefreshAsync(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, refresh);
            request.Headers.Authorization = new("Bearer", token);
            using var response = await server.Client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.NotFound, await RefreshAsync(AppTokenMinter.Mint("10", ["tick"])));
        Assert.Equal(HttpStatusCode.NotFound, await RefreshAsync(AppTokenMinter.Mint("9", ["tock"])));
        Assert.Equal(HttpStatusCode.OK, await RefreshAsync(AppTokenMinter.Mint("9", ["t*"], expires: DateTime.UtcNow.AddMinutes(5))));
    }

    [Fact]
    public async Task OperatorAndServiceCredentials_StillReachTheTopicEndpoints()
    {
        var operatorToken = await _server.LoginAsync();
        await using var op = await SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic=anything&token={operatorToken}");
        var id = await ServicePublishAsync("anything", new { ok = true });
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), (await op.NextAsync()).EventId);
    }
}
