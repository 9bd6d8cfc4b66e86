using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Topics;

/// <summary>
/// Presence and the server API on one node (issue 17, items 3 and 4): who is on a topic, topics and nodes with their
/// counts, disconnecting a subject, publishing one event to many topics, the bounded <c>presence</c> events, and
/// every bad request answered with a clear error that changes nothing.
/// </summary>
public sealed class ServerApiTests : IAsyncLifetime
{
    private const string ApiKey = "service-key-for-the-server-api-tests";
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);

    private HeraldTestNode _server = null!;
    private HttpClient _op = null!;
    private HttpClient _service = null!;

    public async Task InitializeAsync()
    {
        _server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
            ["Herald:Presence:Interval"] = Interval.ToString("c"),
            ["Herald:Presence:Ttl"] = "00:00:03",
            ["Herald:Presence:EventTopics:0"] = "room:*",
            ["Herald:Presence:MaxListedSubjects"] = "5",
            ["Herald:Limits:MaxConnectionsPerIp"] = "0",
        });
        _op = await _server.OperatorClientAsync();
        _service = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _service.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
    }

    public async Task DisposeAsync()
    {
        _op.Dispose();
        _service.Dispose();
        await _server.DisposeAsync();
    }

    private string OperatorToken(long operatorId) => _server.GetService<TokenService>().Issue(operatorId);

    private Task<SseTestClient> OperatorStreamAsync(long operatorId, string topic) =>
        SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic={topic}&token={OperatorToken(operatorId)}");

    private async Task<JsonElement> GetAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {url}: {(int)response.StatusCode} {body}{_server.ServerErrors()}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient client, HttpMethod method, string url, string? json = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    private static string Subjects(JsonElement presence) =>
        string.Join(",", presence.GetProperty("subjects").EnumerateArray()
            .Select(s => $"{s.GetProperty("kind").GetString()}:{s.GetProperty("id").GetString()}x{s.GetProperty("connections").GetInt64()}"));

    [Fact]
    public async Task TopicPresence_ListsEachSubjectWithItsConnections_AndForgetsThemWhenTheyLeave()
    {
        var first = await OperatorStreamAsync(7, "news");
        await using var second = await OperatorStreamAsync(7, "news");
        await using var service = await SseTestClient.ConnectAsync(_service, "/api/events?topic=news&topic=other");

        var presence = await GetAsync(_service, "/api/topics/news/presence");
        Assert.Equal("operator:7x2,service:api-keyx1", Subjects(presence));
        Assert.Equal(2, presence.GetProperty("subject_count").GetInt32());
        Assert.Equal(3, presence.GetProperty("connections").GetInt64());
        Assert.False(presence.GetProperty("truncated").GetBoolean());

        var limited = await GetAsync(_op, "/api/topics/news/presence?limit=1");
        Assert.Equal("operator:7x2", Subjects(limited));
        Assert.True(limited.GetProperty("truncated").GetBoolean());

        await first.DisposeAsync();
        await Poll.UntilAsync(async () => Subjects(await GetAsync(_op, "/api/topics/news/presence")) == "operator:7x1,service:api-keyx1");
    }

    [Fact]
    public async Task TopicsAndNodes_CountConnections_AndHideChatTopicsFromServiceKeys()
    {
        var guest = await _server.OpenGuestDialogAsync("visitor");
        await using var widget = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var a = await OperatorStreamAsync(1, "orders:1");
        await using var b = await OperatorStreamAsync(2, "orders:1");
        await using var c = await OperatorStreamAsync(2, "stock");

        var topics = await GetAsync(_op, "/api/topics");
        var listed = topics.GetProperty("topics").EnumerateArray().ToDictionary(t => t.GetProperty("topic").GetString()!, t => t.GetProperty("connections").GetInt64());
        Assert.Equal(2, listed["orders:1"]);
        Assert.Equal(1, listed["stock"]);
        Assert.Equal(1, listed[$"dialog:{guest.DialogId}"]);

        var prefixed = await GetAsync(_op, "/api/topics?prefix=orders:");
        Assert.Equal(["orders:1"], prefixed.GetProperty("topics").EnumerateArray().Select(t => t.GetProperty("topic").GetString()));

        var forService = await GetAsync(_service, "/api/topics");
        Assert.DoesNotContain(forService.GetProperty("topics").EnumerateArray(), t => t.GetProperty("topic").GetString()!.StartsWith("dialog", StringComparison.Ordinal));

        var nodes = (await GetAsync(_service, "/api/nodes")).GetProperty("nodes");
        var self = Assert.Single(nodes.EnumerateArray());
        Assert.True(self.GetProperty("self").GetBoolean());
        Assert.Equal(4, self.GetProperty("connections").GetInt64());
        Assert.Equal(4, self.GetProperty("by_transport").GetProperty("sse").GetInt64());
    }

    [Fact]
    public async Task Disconnect_ClosesOnlyThatSubjectsConnections_WithAFinalReason()
    {
        await using var target = await OperatorStreamAsync(42, "alerts");
        await using var otherTopic = await OperatorStreamAsync(42, "metrics");
        await using var bystander = await OperatorStreamAsync(43, "alerts");

        var (status, body) = await SendAsync(_service, HttpMethod.Post, "/api/disconnect", """{"kind":"operator","id":"42","topic":"alerts"}""");
        Assert.Equal(HttpStatusCode.Forbidden, status); // a service key may not end an operator's (chat) streams

        (status, body) = await SendAsync(_op, HttpMethod.Post, "/api/disconnect", """{"kind":"operator","id":"42","topic":"alerts"}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(1, body.GetProperty("closed_on_this_node").GetInt32());
        var last = await target.NextAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("disconnect", last.EventType);
        Assert.Equal("""{"reason":"server_disconnect","detail":"disconnected by the server"}""", last.Data);
        await target.WaitForEndAsync(TimeSpan.FromSeconds(10));
        Assert.True(await otherTopic.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "a stream of the same subject on another topic was closed");
        Assert.True(await bystander.IsQuietAsync(TimeSpan.FromMilliseconds(100)), "another subject's stream was closed");

        (status, body) = await SendAsync(_op, HttpMethod.Post, "/api/disconnect", """{"kind":"operator","id":"42"}""");
        Assert.Equal(1, body.GetProperty("closed_on_this_node").GetInt32());
        await otherTopic.WaitForEndAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Broadcast_PublishesOneEventToEveryTopicNamed_InOneCall()
    {
        await using var stream = await OperatorStreamAsync(1, "a,b");
        var (status, body) = await SendAsync(_service, HttpMethod.Post, "/api/broadcast", """{"topics":["a","b","c"],"event":"notice","data":{"n":1}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        var published = body.GetProperty("published").EnumerateArray().ToList();
        Assert.Equal(["a", "b", "c"], published.Select(p => p.GetProperty("topic").GetString()));
        var ids = published.Select(p => p.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(ids.Order(), ids);

        var events = await stream.TakeAsync(2);
        Assert.All(events, e => Assert.Equal("notice", e.EventType));
        Assert.Equal(ids.Take(2).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), events.Select(e => e.EventId));

        (status, body) = await SendAsync(_service, HttpMethod.Post, "/api/broadcast", """{"topics":["a","b"],"event":"blip","data":1,"durable":false}""");
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(["blip", "blip"], (await stream.TakeAsync(2)).Select(e => e.EventType));
    }

    [Theory]
    [InlineData("GET", "/api/topics/bad%20topic/presence", null, 400, "invalid_field")]
    [InlineData("GET", "/api/topics/news/presence?limit=0", null, 400, "invalid_field")]
    [InlineData("GET", "/api/topics/news/presence?limit=10001", null, 400, "invalid_field")]
    [InlineData("GET", "/api/topics/dialogs/presence", null, 403, "forbidden")]
    [InlineData("GET", "/api/topics?prefix=%0A", null, 400, "invalid_field")]
    [InlineData("GET", "/api/topics?limit=x", null, 400, "invalid_field")]
    [InlineData("POST", "/api/disconnect", """{"id":"1"}""", 400, "missing_field")]
    [InlineData("POST", "/api/disconnect", """{"kind":"martian","id":"1"}""", 400, "invalid_field")]
    [InlineData("POST", "/api/disconnect", """{"kind":"service"}""", 400, "missing_field")]
    [InlineData("POST", "/api/disconnect", """{"kind":"service","id":"a\u0000b"}""", 400, "invalid_field")]
    [InlineData("POST", "/api/disconnect", """{"kind":"service","id":"x","topic":"no spaces"}""", 400, "invalid_field")]
    [InlineData("POST", "/api/disconnect", """{"kind":"service","id":"x","topic":"dialog:1"}""", 403, "forbidden")]
    [InlineData("POST", "/api/disconnect", """{"kind":"guest","id":"x"}""", 403, "forbidden")]
    [InlineData("POST", "/api/disconnect", """{"kind":"service","id":"x"} trailing""", 400, "invalid_json")]
    [InlineData("POST", "/api/broadcast", """{"event":"e","data":1}""", 400, "missing_field")]
    [InlineData("POST", "/api/broadcast", """{"topics":[],"data":1}""", 400, "missing_field")]
    [InlineData("POST", "/api/broadcast", """{"topics":["a","a"],"data":1}""", 400, "invalid_field")]
    [InlineData("POST", "/api/broadcast", """{"topics":["a",null],"data":1}""", 400, "missing_field")]
    [InlineData("POST", "/api/broadcast", """{"topics":["a","dialogs"],"data":1}""", 403, "forbidden")]
    [InlineData("POST", "/api/broadcast", """{"topics":["a"],"event":"bad event","data":1}""", 400, "invalid_field")]
    [InlineData("POST", "/api/broadcast", """{"topics":["a"]}""", 400, "missing_field")]
    public async Task BadRequests_GetAClearError_AndChangeNothing(string method, string url, string? json, int status, string error)
    {
        await using var stream = await SseTestClient.ConnectAsync(_service, "/api/events?topic=a");
        var (code, body) = await SendAsync(_service, new HttpMethod(method), url, json);
        Assert.Equal(status, (int)code);
        Assert.Equal(error, body.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("detail").GetString()));
        // Nothing was published or disconnected: the stream is still open and quiet.
        Assert.True(await stream.IsQuietAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, (await GetAsync(_service, "/api/topics/a/presence")).GetProperty("connections").GetInt64());
    }

    [Fact]
    public async Task TooManyTopicsInABroadcast_IsRefused()
    {
        var topics = JsonSerializer.Serialize(Enumerable.Range(0, 1001).Select(i => $"t{i}"));
        var (status, body) = await SendAsync(_service, HttpMethod.Post, "/api/broadcast", $$"""{"topics":{{topics}},"data":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_field", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ServerApi_WithoutCredential_Is401()
    {
        foreach (var url in new[] { "/api/topics/a/presence", "/api/topics", "/api/nodes" })
        {
            using var response = await _server.Client.GetAsync(url);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var disconnect = await _server.Client.PostAsJsonAsync("/api/disconnect", new { kind = "service", id = "api-key" });
        Assert.Equal(HttpStatusCode.Unauthorized, disconnect.StatusCode);
    }

    [Fact]
    public async Task PresenceEvents_ACrowdJoiningAndLeaving_CostsAtMostOneSmallEventPerInterval()
    {
        const int Crowd = 100;
        await using var watcher = await OperatorStreamAsync(1, "room:big");
        await using var quiet = await OperatorStreamAsync(1, "plain");
        var first = Presence(await watcher.NextAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, first.GetProperty("subjects").GetInt32()); // the watcher itself

        var started = System.Diagnostics.Stopwatch.StartNew();
        var crowd = await Task.WhenAll(Enumerable.Range(0, Crowd).Select(i => OperatorStreamAsync(1000 + i, "room:big")));
        var seen = await ReadPresenceUntilAsync(watcher, subjects: Crowd + 1);
        foreach (var stream in crowd)
        {
            await stream.DisposeAsync();
        }

        seen.AddRange(await ReadPresenceUntilAsync(watcher, subjects: 1));
        var elapsed = started.Elapsed;

        // At most one event per interval (plus the one in flight), however many people came and went.
        Assert.InRange(seen.Count, 2, (int)(elapsed / Interval) + 2);
        Assert.All(seen, e => Assert.InRange(e.GetProperty("joined").GetArrayLength() + e.GetProperty("left").GetArrayLength(), 0, 10));
        Assert.Contains(seen, e => e.GetProperty("truncated").GetBoolean());
        Assert.Equal(Crowd + 1, seen.Max(e => e.GetProperty("subjects").GetInt32()));
        // A topic not named in Herald:Presence:EventTopics gets none.
        Assert.True(await quiet.IsQuietAsync(TimeSpan.FromMilliseconds(100)));
    }

    private static JsonElement Presence(System.Net.ServerSentEvents.SseItem<string> item)
    {
        Assert.Equal("presence", item.EventType);
        Assert.Null(item.EventId); // ephemeral: never moves Last-Event-ID
        return JsonDocument.Parse(item.Data).RootElement;
    }

    private static async Task<List<JsonElement>> ReadPresenceUntilAsync(SseTestClient stream, int subjects)
    {
        var seen = new List<JsonElement>();
        JsonElement last;
        do
        {
            last = Presence(await stream.NextAsync(TimeSpan.FromSeconds(15)));
            seen.Add(last);
        }
        while (last.GetProperty("subjects").GetInt32() != subjects);

        return seen;
    }
}
