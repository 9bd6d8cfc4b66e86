using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Mercure;

/// <summary>
/// The hub at /.well-known/mercure on a real node: the draft's subscribe and publish rules, authorization, history.
/// A "not received" is shown without waiting out a timeout: a matching update published after the one that must not
/// arrive is the next (and first) thing the stream gets. The browser suite (clients/js/test/mercure.test.mjs) runs the
/// same behaviours through EventSource, on one node and across two.
/// </summary>
public sealed class MercureHubTests : IAsyncLifetime
{
    private HeraldTestNode _node = null!;

    public static IEnumerable<KeyValuePair<string, string>> Settings(bool anonymous = true) =>
    [
        new("Herald:Mercure:Enabled", "true"),
        new("Herald:Mercure:JwtKey", MercureJwt.Key),
        new("Herald:Mercure:AllowAnonymous", anonymous ? "true" : "false"),
        new("Herald:Mercure:CorsOrigins:0", "https://app.example.com"),
        new("Herald:Mercure:Keys:0:Algorithm", "RS256"),
        new("Herald:Mercure:Keys:0:PublicKeyPem", MercureJwt.Rsa.ExportSubjectPublicKeyInfoPem()),
    ];

    public async Task InitializeAsync() => _node = await HeraldTestNode.StartInProcessAsync(Settings());

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Publish_AnswersTextPlainId_AndAnUpdateWithSeveralMatchingTopicsArrivesOnce()
    {
        await using var sse = await SubscribeAsync("match=urn:a&match=urn:b&topic=*");
        using var answer = await PublishAsync(PublisherToken(), ("topic", "urn:a"), ("topic", "urn:b"), ("data", "line one\nline two\r\nthree"),
            ("id", "urn:uuid:custom-1"), ("type", "book.updated"), ("retry", "2500"));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("text/plain", answer.Content.Headers.ContentType!.MediaType);
        Assert.Equal("utf-8", answer.Content.Headers.ContentType.CharSet);
        Assert.Equal("urn:uuid:custom-1", await answer.Content.ReadAsStringAsync());

        var update = await sse.NextAsync();
        Assert.Equal("urn:uuid:custom-1", update.EventId);
        Assert.Equal("book.updated", update.EventType);
        Assert.Equal("line one\nline two\nthree", update.Data);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), update.ReconnectionInterval);

        // Once: the next thing on the stream is the following update, not a second copy.
        using var next = await PublishAsync(PublisherToken(), ("topic", "urn:a"), ("data", "second"));
        var generated = await next.Content.ReadAsStringAsync();
        Assert.StartsWith("#", generated);
        var second = await sse.NextAsync();
        Assert.Equal(("second", generated, "message"), (second.Data, second.EventId, second.EventType));
    }

    [Theory]
    [InlineData("match=raw-string", "raw-string")]
    [InlineData("match=foo&match=raw-two", "raw-two")]
    [InlineData("match=https%3A%2F%2Fexample.net%2Ffoo%2Fx1", "https://example.net/foo/x1")]
    [InlineData("match_urlpattern=https%3A%2F%2Fexample.net%2Ffoo%2F%3Arandom", "https://example.net/foo/x2")]
    [InlineData("topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D", "https://example.com/books/7")]
    [InlineData("match_exact=*", "anything")]
    public async Task Subscribe_GetsWhatItsSelectorsMatch_AndNothingElse(string query, string matching)
    {
        await using var sse = await SubscribeAsync(query);
        // Non-matching first: another raw string, another URI, another pattern's path, a URI under another template.
        foreach (var other in new[] { "will-not-match", "https://example.net/foo/will/not", "https://example.net/bar/x", "https://example.com/authors/7" })
        {
            if (!query.StartsWith("match_exact=*", StringComparison.Ordinal))
            {
                (await PublishAsync(PublisherToken(), ("topic", other), ("data", "wrong"))).Dispose();
            }
        }

        (await PublishAsync(PublisherToken(), ("topic", matching), ("data", "right"))).Dispose();
        Assert.Equal("right", (await sse.NextAsync()).Data);
    }

    [Fact]
    public async Task PrivateUpdates_ReachOnlySubscribersWhoseTokenGrantsOneOfTheirTopics()
    {
        await using var anonymous = await SubscribeAsync("match=https%3A%2F%2Fexample.com%2Fbooks%2F1");
        // Routing selects books/1; the grant is on the alternate topic only (the draft's union rule).
        await using var granted = await SubscribeAsync("match=https%3A%2F%2Fexample.com%2Fbooks%2F1",
            MercureJwt.Legacy(subscribe: ["https://example.com/users/42/{rest}"]));
        await using var other = await SubscribeAsync("match=https%3A%2F%2Fexample.com%2Fbooks%2F1",
            MercureJwt.Legacy(subscribe: ["https://example.com/users/7/{rest}"]));

        (await PublishAsync(PublisherToken(), ("topic", "https://example.com/books/1"), ("topic", "https://example.com/users/42/books-1"),
            ("private", ""), ("data", "secret"))).Dispose();
        (await PublishAsync(PublisherToken(), ("topic", "https://example.com/books/1"), ("data", "public"))).Dispose();

        Assert.Equal("secret", (await granted.NextAsync()).Data);
        Assert.Equal("public", (await granted.NextAsync()).Data);
        Assert.Equal("public", (await anonymous.NextAsync()).Data);
        Assert.Equal("public", (await other.NextAsync()).Data);
    }

    [Fact]
    public async Task LastEventId_ResumesAfterACustomOrGeneratedId_OrFromEarliest_AndSaysWhereItResumed()
    {
        using var first = await PublishAsync(PublisherToken(), ("topic", "urn:history"), ("data", "one"), ("id", "custom-one"));
        using var second = await PublishAsync(PublisherToken(), ("topic", "urn:history"), ("data", "two"));
        using var third = await PublishAsync(PublisherToken(), ("topic", "urn:history"), ("data", "three"));
        var secondId = await second.Content.ReadAsStringAsync();

        await using (var fromCustom = await SubscribeAsync("match=urn:history", lastEventId: "custom-one"))
        {
            Assert.Equal("custom-one", Header(fromCustom, "Mercure-Last-Event-ID"));
            Assert.Equal(["two", "three"], (await fromCustom.TakeAsync(2)).Select(e => e.Data));
        }

        await using (var fromGenerated = await SubscribeAsync("match=urn:history&last_event_id=" + Uri.EscapeDataString(secondId)))
        {
            Assert.Equal("three", (await fromGenerated.NextAsync()).Data);
        }

        await using (var fromLegacyQuery = await SubscribeAsync("topic=urn:history&lastEventID=earliest"))
        {
            Assert.Equal("earliest", Header(fromLegacyQuery, "Mercure-Last-Event-ID"));
            Assert.Equal(["one", "two", "three"], (await fromLegacyQuery.TakeAsync(3)).Select(e => e.Data));
        }

        // An id the hub never saw: the live stream only, and the answer says nothing precedes it.
        await using var unknown = await SubscribeAsync("match=urn:history", lastEventId: "never-published");
        Assert.Equal("earliest", Header(unknown, "Mercure-Last-Event-ID"));
        (await PublishAsync(PublisherToken(), ("topic", "urn:history"), ("data", "four"))).Dispose();
        Assert.Equal("four", (await unknown.NextAsync()).Data);
    }

    [Fact]
    public async Task SymfonyStylePublisher_FormPostWithTheMercureClaim_ReachesATemplateSubscriberWithACookie()
    {
        // Symfony's Mercure component: HS256 over the shared secret, {"mercure": {"publish": ["*"]}}, a form POST.
        var publisher = MercureJwt.Legacy(publish: ["*"]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/mercure?topic=" + Uri.EscapeDataString("https://shop.example/books/{id}"));
        request.Headers.Add("Cookie", "mercureAuthorization=" + MercureJwt.Legacy(subscribe: ["https://shop.example/books/{id}"]));
        await using var sse = await SseTestClient.ConnectAsync(_node.Client, request);
        (await PublishAsync(publisher, ("topic", "https://shop.example/books/1"), ("data", "{\"@id\":\"/books/1\"}"), ("private", "on"))).Dispose();
        Assert.Equal("{\"@id\":\"/books/1\"}", (await sse.NextAsync()).Data);
    }

    [Fact]
    public async Task BadRequests_GetTheDraftsStatusAndAChallenge_AndPublishNothing()
    {
        await using var sse = await SubscribeAsync("match=*");
        using (var none = await PublishAsync(null, ("topic", "urn:x"), ("data", "no token")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Null(none.Headers.WwwAuthenticate.Single().Parameter);
        }

        using (var forged = await PublishAsync(MercureJwt.Legacy(publish: ["*"], key: "another-secret-of-at-least-32-bytes!"), ("topic", "urn:x")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
            Assert.Equal("error=\"invalid_token\"", forged.Headers.WwwAuthenticate.Single().Parameter);
        }

        using (var narrow = await PublishAsync(MercureJwt.Legacy(publish: ["urn:x"]), ("topic", "urn:x"), ("topic", "urn:y")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, narrow.StatusCode);
            Assert.Equal("error=\"insufficient_scope\"", narrow.Headers.WwwAuthenticate.Single().Parameter);
        }

        foreach (var fields in new[]
        {
            new[] { ("data", "no topic") },
            [("topic", "*")],
            [("topic", "/.well-known/%6Dercure/subscriptions/x")],
            [("topic", "https://hub.example/.well-known/mercure/../mercure/x")],
            [("topic", "urn:x"), ("type", "mercure")],
            [("topic", "urn:x"), ("id", "#12")],
            [("topic", "urn:x"), ("id", "earliest")],
            [("topic", "urn:x"), ("id", "a\nb")],
            [("topic", "urn:x"), ("retry", "-1")],
            [("topic", "urn:\u200bx")],
        })
        {
            using var bad = await PublishAsync(PublisherToken(), fields);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("\"error\"", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var json = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure") { Content = new StringContent("{\"topic\":\"urn:x\"}", null, "application/json") })
        {
            json.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PublisherToken());
            using var answer = await _node.Client.SendAsync(json);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, answer.StatusCode);
        }

        foreach (var query in new[] { "", "matchx=urn:x", "Match=urn:x", "match_regex=urn:x", "match=", "match_urlpattern=https%3A%2F%2Fa%2F%3Aid(%5Cd" })
        {
            using var refused = await _node.Client.GetAsync("/.well-known/mercure?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // Nothing of the above reached the stream: the next update is the first thing it gets.
        (await PublishAsync(PublisherToken(), ("topic", "urn:after"), ("data", "after"))).Dispose();
        Assert.Equal("after", (await sse.NextAsync()).Data);
    }

    [Fact]
    public async Task Rs256Publisher_IsVerifiedByTheKeyRing_WithoutExpLikeMercuresHub_ButAnExpiredOrConfusedTokenIsRefused()
    {
        await using var sse = await SubscribeAsync("match=urn:rs256");
        var publish = new { mercure = new { publish = new[] { "*" } } };

        // No exp, as Symfony's MercureBundle issues them: the Mercure hub accepts it, so does Herald's.
        using (var answer = await PublishAsync(MercureJwt.SignRs256(publish), ("topic", "urn:rs256"), ("data", "signed with a private key")))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal("signed with a private key", (await sse.NextAsync()).Data);

        var expired = MercureJwt.SignRs256(new { mercure = publish.mercure, exp = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds() });
        // Algorithm confusion: the public key used as an HMAC secret must not verify anything.
        var confused = MercureJwt.Sign(publish, key: MercureJwt.Rsa.ExportSubjectPublicKeyInfoPem());
        foreach (var refused in new[] { expired, confused })
        {
            using var answer = await PublishAsync(refused, ("topic", "urn:rs256"), ("data", "must not arrive"));
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }

        (await PublishAsync(PublisherToken(), ("topic", "urn:rs256"), ("data", "after"))).Dispose();
        Assert.Equal("after", (await sse.NextAsync()).Data);
    }

    [Fact]
    public async Task Anonymous_IsRefusedUnlessConfigured_AndAForgedSubscriberTokenIsRefusedEither_Way()
    {
        await using var closed = await HeraldTestNode.StartInProcessAsync(Settings(anonymous: false));
        using (var anonymous = await closed.Client.GetAsync("/.well-known/mercure?match=urn:x"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var forged = await closed.Client.GetAsync("/.well-known/mercure?match=urn:x&authorization=" + MercureJwt.Legacy(subscribe: ["*"], key: "another-secret-of-at-least-32-bytes!")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/mercure?match=urn:x");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MercureJwt.Legacy(subscribe: ["urn:x"]));
        await using var sse = await SseTestClient.ConnectAsync(closed.Client, request);
        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
    }

    [Fact]
    public async Task Discovery_AndCors_FollowTheConfiguredOrigins()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/.well-known/mercure");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using (var allowed = await _node.Client.SendAsync(preflight))
        {
            Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
            Assert.Equal("https://app.example.com", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Equal("true", allowed.Headers.GetValues("Access-Control-Allow-Credentials").Single());
            Assert.Contains("rel=\"mercure\"", allowed.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        }

        using var stranger = new HttpRequestMessage(HttpMethod.Options, "/.well-known/mercure");
        stranger.Headers.Add("Origin", "https://evil.example");
        using var refused = await _node.Client.SendAsync(stranger);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task HeraldsOwnApis_CannotReachTheMercureTopic()
    {
        using var operatorClient = await _node.OperatorClientAsync();
        using var publish = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "mercure", data = new { forged = true } });
        Assert.Equal(HttpStatusCode.Forbidden, publish.StatusCode);
    }

    private Task<SseTestClient> SubscribeAsync(string query, string? token = null, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/mercure?" + query);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return SseTestClient.ConnectAsync(_node.Client, request);
    }

    private static string PublisherToken() => MercureJwt.Sign(new
    {
        authorization_details = new[] { new { type = "https://mercure.rocks/authorization-detail", actions = new[] { "publish" }, topics = new[] { new { match = "*" } } } },
    }, type: "at+jwt");

    private async Task<HttpResponseMessage> PublishAsync(string? token, params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure")
        {
            Content = new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _node.Client.SendAsync(request);
    }

    private static string Header(SseTestClient sse, string name) => sse.Response.Headers.GetValues(name).Single();
}
