using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Mercure;

/// <summary>
/// Mercure's active subscriptions (Herald:Mercure:Subscriptions) on one real node: the API at
/// /.well-known/mercure/subscriptions{/topic}{/subscriber}, its authorization and bad input, and the subscription
/// events a watcher receives through the hub. Two nodes on Redis: <see cref="MercureSubscriptionsClusterTests"/>.
/// </summary>
public sealed class MercureSubscriptionsTests : IAsyncLifetime
{
    /// <summary>The URI template a watcher of every subscription uses, as selector and as grant.</summary>
    public const string Everything = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";

    private HeraldTestNode _node = null!;

    public static IEnumerable<KeyValuePair<string, string>> Settings() =>
        [.. MercureHubTests.Settings(), new("Herald:Mercure:Subscriptions", "true")];

    public async Task InitializeAsync() => _node = await HeraldTestNode.StartInProcessAsync(Settings());

    public async Task DisposeAsync() => await _node.DisposeAsync();

    public static string Watcher(object? payload = null) =>
        MercureJwt.Sign(new { mercure = new { subscribe = new[] { Everything }, payload } });

    public static Task<SseTestClient> SubscribeAsync(HttpClient client, string query, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/mercure?" + query);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return SseTestClient.ConnectAsync(client, request);
    }

    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(HttpClient client, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    /// <summary>The next event on <paramref name="sse"/>, read as a subscription document.</summary>
    public static async Task<JsonElement> NextSubscriptionAsync(SseTestClient sse)
    {
        var item = await sse.NextAsync();
        Assert.Equal("message", item.EventType);
        return JsonDocument.Parse(item.Data).RootElement.Clone();
    }

    public static string Topics(JsonElement collection) =>
        string.Join(",", collection.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("topic").GetString()).Order(StringComparer.Ordinal));

    [Fact]
    public async Task Api_ListsEveryActiveSubscription_ByTopicAndSubscriber_AndEventsAnnounceEachStartAndEnd()
    {
        await using var watcher = await SubscribeAsync(_node.Client, "topic=" + Uri.EscapeDataString(Everything), Watcher());
        var own = await NextSubscriptionAsync(watcher);
        Assert.Equal(Everything, own.GetProperty("topic").GetString());

        var subscriberToken = MercureJwt.Sign(new { mercure = new { subscribe = new[] { "urn:x" }, payload = new { user = "alice" } } });
        var other = await SubscribeAsync(_node.Client, "topic=" + Uri.EscapeDataString("https://example.com/books/{id}") + "&match=urn:x", subscriberToken);
        var started = new[] { await NextSubscriptionAsync(watcher), await NextSubscriptionAsync(watcher) };
        var subscriber = started[0].GetProperty("subscriber").GetString()!;
        Assert.StartsWith("urn:uuid:", subscriber, StringComparison.Ordinal);
        Assert.Equal(["https://example.com/books/{id}", "urn:x"], started.Select(s => s.GetProperty("topic").GetString()));
        foreach (var doc in started)
        {
            Assert.Equal("https://mercure.rocks/", doc.GetProperty("@context").GetString());
            Assert.Equal("Subscription", doc.GetProperty("type").GetString());
            Assert.Equal(subscriber, doc.GetProperty("subscriber").GetString());
            Assert.True(doc.GetProperty("active").GetBoolean());
            Assert.Equal("alice", doc.GetProperty("payload").GetProperty("user").GetString());
            Assert.Equal("/.well-known/mercure/subscriptions/" + Uri.EscapeDataString(doc.GetProperty("topic").GetString()!) + "/" + Uri.EscapeDataString(subscriber),
                doc.GetProperty("id").GetString());
        }

        var (status, all, response) = await GetAsync(_node.Client, "/.well-known/mercure/subscriptions", Watcher());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/ld+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(("https://mercure.rocks/", "/.well-known/mercure/subscriptions", "Subscriptions"),
            (all.GetProperty("@context").GetString(), all.GetProperty("id").GetString(), all.GetProperty("type").GetString()));
        Assert.StartsWith("#", all.GetProperty("lastEventID").GetString(), StringComparison.Ordinal);
        Assert.Equal(string.Join(",", new[] { Everything, "https://example.com/books/{id}", "urn:x" }.Order(StringComparer.Ordinal)), Topics(all));

        var byTopic = "/.well-known/mercure/subscriptions/" + Uri.EscapeDataString("https://example.com/books/{id}");
        var (_, one, _) = await GetAsync(_node.Client, byTopic, Watcher());
        Assert.Equal(byTopic, one.GetProperty("id").GetString());
        Assert.Equal("https://example.com/books/{id}", Topics(one));

        var (singleStatus, single, _) = await GetAsync(_node.Client, byTopic + "/" + Uri.EscapeDataString(subscriber), Watcher());
        Assert.Equal(HttpStatusCode.OK, singleStatus);
        Assert.Equal(started[0].GetProperty("id").GetString(), single.GetProperty("id").GetString());
        Assert.Equal("https://mercure.rocks/", single.GetProperty("@context").GetString());
        Assert.StartsWith("#", single.GetProperty("lastEventID").GetString(), StringComparison.Ordinal);

        // Nobody on this selector: an empty list. An unknown subscriber: 404 with the error body.
        var (_, nobody, _) = await GetAsync(_node.Client, "/.well-known/mercure/subscriptions/" + Uri.EscapeDataString("urn:nobody"), Watcher());
        Assert.Empty(nobody.GetProperty("subscriptions").EnumerateArray());
        var (unknownStatus, unknown, _) = await GetAsync(_node.Client, byTopic + "/" + Uri.EscapeDataString("urn:uuid:unknown"), Watcher());
        Assert.Equal((HttpStatusCode.NotFound, "not_found"), (unknownStatus, unknown.GetProperty("error").GetString()));

        await other.DisposeAsync();
        var ended = new[] { await NextSubscriptionAsync(watcher), await NextSubscriptionAsync(watcher) };
        Assert.Equal(started.Select(s => s.GetProperty("id").GetString()), ended.Select(s => s.GetProperty("id").GetString()));
        Assert.All(ended, e => Assert.False(e.GetProperty("active").GetBoolean()));
        var (_, after, _) = await GetAsync(_node.Client, "/.well-known/mercure/subscriptions", Watcher());
        Assert.Equal(Everything, Topics(after));

        // Exactly once: the next event is the next subscription's start, not a repeated end.
        await using var third = await SubscribeAsync(_node.Client, "match=urn:third");
        var next = await NextSubscriptionAsync(watcher);
        Assert.Equal(("urn:third", true), (next.GetProperty("topic").GetString(), next.GetProperty("active").GetBoolean()));
    }

    [Fact]
    public async Task Api_IsRefusedWithoutATokenWhoseSelectorsMatchThePath_AndBadPathsAreClearErrors()
    {
        const string Collection = "/.well-known/mercure/subscriptions";
        var (none, noneBody, noneResponse) = await GetAsync(_node.Client, Collection, null);
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthorized"), (none, noneBody.GetProperty("error").GetString()));
        Assert.Equal("Bearer", noneResponse.Headers.WwwAuthenticate.Single().Scheme);

        var (forged, _, _) = await GetAsync(_node.Client, Collection, MercureJwt.Legacy(subscribe: ["*"], key: "another-secret-of-at-least-32-bytes!"));
        Assert.Equal(HttpStatusCode.Unauthorized, forged);

        var (elsewhere, elsewhereBody, elsewhereResponse) = await GetAsync(_node.Client, Collection, MercureJwt.Legacy(subscribe: ["urn:x"]));
        Assert.Equal((HttpStatusCode.Forbidden, "forbidden"), (elsewhere, elsewhereBody.GetProperty("error").GetString()));
        Assert.Equal("error=\"insufficient_scope\"", elsewhereResponse.Headers.WwwAuthenticate.Single().Parameter);

        // An exact grant on the collection is that path only; a 1.0 grant (authorization_details) works the same way.
        var exact = MercureJwt.Legacy(subscribe: [Collection]);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_node.Client, Collection, exact)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(_node.Client, Collection + "/urn%3Ax", exact)).Status);
        var urlPattern = MercureJwt.Sign(new
        {
            authorization_details = new[] { new { type = "https://mercure.rocks/authorization-detail", actions = new[] { "subscribe" },
                topics = new[] { new { match = "/.well-known/mercure/subscriptions/:topic", match_type = "urlpattern" } } } },
        }, type: "at+jwt");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_node.Client, Collection + "/urn%3Ax", urlPattern)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(_node.Client, Collection, urlPattern)).Status);

        // Not UTF-8, a control character: 400. Three segments or an empty one: 404. Each with the error body.
        foreach (var (path, expected) in new[]
        {
            (Collection + "/%C3%28", HttpStatusCode.BadRequest),
            (Collection + "/urn%3Ax%01", HttpStatusCode.BadRequest),
            (Collection + "/a/b/c", HttpStatusCode.NotFound),
            (Collection + "//b", HttpStatusCode.NotFound),
        })
        {
            var (status, body, _) = await GetAsync(_node.Client, path, Watcher());
            Assert.Equal(expected, status);
            Assert.True(body.TryGetProperty("error", out _), path);
        }

        // Bad percent-encoding, sent as written (HttpClient would escape the '%').
        var raw = await RawGetAsync(_node, Collection + "/urn%ZZx", Watcher());
        Assert.StartsWith("HTTP/1.1 400", raw, StringComparison.Ordinal);
        Assert.Contains("\"error\":\"invalid_field\"", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Off_TheApiIsNotThere_AndNoSubscriptionEventIsPublished()
    {
        await using var off = await HeraldTestNode.StartInProcessAsync(MercureHubTests.Settings());
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(off.Client, "/.well-known/mercure/subscriptions", Watcher())).Status);

        await using var watcher = await SubscribeAsync(off.Client, "topic=" + Uri.EscapeDataString(Everything) + "&match=urn:sentinel", Watcher());
        await (await SubscribeAsync(off.Client, "match=urn:y")).DisposeAsync();
        using var publish = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure")
        {
            Content = new FormUrlEncodedContent([new("topic", "urn:sentinel"), new("data", "sentinel")]),
        };
        publish.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MercureJwt.Legacy(publish: ["*"]));
        (await off.Client.SendAsync(publish)).Dispose();
        Assert.Equal("sentinel", (await watcher.NextAsync()).Data);
    }

    private static async Task<string> RawGetAsync(HeraldTestNode node, string target, string token)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(node.BaseAddress.Host, node.BaseAddress.Port);
        await using var stream = tcp.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {node.BaseAddress.Authority}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }
}
