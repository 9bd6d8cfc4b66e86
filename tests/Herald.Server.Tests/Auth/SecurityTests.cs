using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Tests.Auth;

/// <summary>Widget tokens and domains, site-token mode, CORS, guests, verified identities, operator tokens, limits.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;
    private HttpClient _op = null!;

    public async Task InitializeAsync()
    {
        _server = await HeraldTestNode.StartInProcessAsync();
        _op = await _server.OperatorClientAsync();
    }

    public async Task DisposeAsync()
    {
        _op.Dispose();
        await _server.DisposeAsync();
    }

    private async Task<(long AssistantId, string Token, long TokenId)> IssueAsync(params string[] domains)
    {
        var assistant = await _server.CreateAssistantAsync();
        using var response = await _op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant, allowed_domains = domains });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(domains, body.GetProperty("allowed_domains").EnumerateArray().Select(d => d.GetString()));
        return (assistant, body.GetProperty("token").GetString()!, body.GetProperty("id").GetInt64());
    }

    private async Task<JsonElement> ValidateAsync(string token, string domain)
    {
        using var response = await _server.Client.PostAsJsonAsync("/api/validate-widget-token", new { token, domain });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task WidgetToken_Lifecycle_GivesSeedReasons()
    {
        var (assistant, token, id) = await IssueAsync("shop.example.com");
        var ok = await ValidateAsync(token, "shop.example.com");
        Assert.True(ok.GetProperty("valid").GetBoolean());
        Assert.Equal(assistant, ok.GetProperty("assistant_id").GetInt64());
        Assert.Equal("domain not allowed", (await ValidateAsync(token, "evil.example.com")).GetProperty("reason").GetString());
        Assert.Equal("invalid token", (await ValidateAsync("hwt_forged", "shop.example.com")).GetProperty("reason").GetString());

        using (var rotate = await _op.PostAsync($"/api/widgets/{id}/rotate", null))
        {
            Assert.Equal(HttpStatusCode.Created, rotate.StatusCode);
            var fresh = (await rotate.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
            Assert.Equal("revoked", (await ValidateAsync(token, "shop.example.com")).GetProperty("reason").GetString());
            Assert.True((await ValidateAsync(fresh, "shop.example.com")).GetProperty("valid").GetBoolean());

            using var edit = await _op.PutAsJsonAsync($"/api/assistants/{assistant}/domains", new { allowed_domains = new[] { "shop.example.com", "*.shop.example.com" } });
            Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
            Assert.Equal("domains changed", (await ValidateAsync(fresh, "shop.example.com")).GetProperty("reason").GetString());
        }

        var list = await _op.GetFromJsonAsync<JsonElement>($"/api/widgets?assistant_id={assistant}");
        Assert.Equal(2, list.GetArrayLength());
        Assert.DoesNotContain(token, list.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WidgetToken_Development_AllowsLocalhostOnAnyPort()
    {
        var (_, token, _) = await IssueAsync("shop.example.com");
        Assert.True((await ValidateAsync(token, "localhost:3000")).GetProperty("valid").GetBoolean());
        Assert.True((await ValidateAsync(token, "127.0.0.1:5173")).GetProperty("valid").GetBoolean());
    }

    [Fact]
    public async Task WidgetToken_Production_DoesNotAllowLocalhost()
    {
        await using var production = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:SigningKey"] = "a-production-signing-key-of-at-least-32-bytes",
            ["HERALD_ADMIN_EMAIL"] = HeraldTestNode.AdminEmail,
            ["HERALD_ADMIN_PASSWORD"] = HeraldTestNode.AdminPassword,
        }, environment: "Production");
        using var op = await production.OperatorClientAsync();
        var assistant = (await (await op.PostAsJsonAsync("/api/assistants", new { name = "P" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var token = (await (await op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant, allowed_domains = new[] { "shop.example.com" } }))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        using var response = await production.Client.PostAsJsonAsync("/api/validate-widget-token", new { token, domain = "localhost:3000" });
        Assert.Equal("domain not allowed", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("herald-development-signing-key-do-not-use-in-production")]
    [InlineData("short")]
    public async Task Production_RefusesToStartWithoutARealSigningKey(string? key)
    {
        var settings = new Dictionary<string, string>();
        if (key is not null)
        {
            settings["Herald:Auth:SigningKey"] = key;
        }

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => HeraldTestNode.StartInProcessAsync(settings, environment: "Production"));
        Assert.Contains("SigningKey", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SiteToken_WithAllowedOrigin_StreamsAndPosts_WithoutOrWrongOrigin_Is403()
    {
        var (_, token, _) = await IssueAsync("shop.example.com");
        using var open = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?site_token={token}&guest_id=visitor-1");
        open.Headers.Add("Origin", "https://shop.example.com");
        using var opened = await _server.Client.SendAsync(open);
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        Assert.Equal("https://shop.example.com", opened.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var dialogId = (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var client = new HttpClient { BaseAddress = _server.BaseAddress };
        client.DefaultRequestHeaders.Add("Origin", "https://shop.example.com");
        await using var sse = await SseTestClient.ConnectAsync(client, $"/api/dialogs/{dialogId}/events?site_token={token}&guest_id=visitor-1");
        using var post = await client.PostAsJsonAsync($"/api/widget/dialogs/{dialogId}/messages?site_token={token}&guest_id=visitor-1", new { text = "hi from the shop" });
        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        Assert.Contains("hi from the shop", (await sse.NextAsync()).Data, StringComparison.Ordinal);

        using var noOrigin = await _server.Client.GetAsync($"/api/dialogs/{dialogId}/messages?site_token={token}&guest_id=visitor-1");
        Assert.Equal(HttpStatusCode.Forbidden, noOrigin.StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, $"/api/dialogs/{dialogId}/messages?site_token={token}&guest_id=visitor-1");
        wrong.Headers.Add("Origin", "https://evil.example.net");
        using var wrongResponse = await _server.Client.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Forbidden, wrongResponse.StatusCode);
        Assert.False(wrongResponse.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Contains("domain not allowed", await wrongResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cors_Preflight_AnswersOnlyAllowedOrigins_AndNeverOperatorEndpoints()
    {
        var (assistant, token, _) = await IssueAsync("shop.example.com");
        using var allowed = Preflight($"/api/widget/dialogs?site_token={token}&guest_id=v", "https://shop.example.com");
        using var allowedResponse = await _server.Client.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.NoContent, allowedResponse.StatusCode);
        Assert.Equal("https://shop.example.com", allowedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var refused = Preflight($"/api/widget/dialogs?site_token={token}&guest_id=v", "https://evil.example.net");
        using var refusedResponse = await _server.Client.SendAsync(refused);
        Assert.Equal(HttpStatusCode.Forbidden, refusedResponse.StatusCode);
        Assert.False(refusedResponse.Headers.Contains("Access-Control-Allow-Origin"));

        using var guestMode = Preflight($"/api/widget/dialogs?assistant_id={assistant}&guest_id=v", "https://evil.example.net");
        Assert.False((await _server.Client.SendAsync(guestMode)).Headers.Contains("Access-Control-Allow-Origin"));

        using var operatorRequest = new HttpRequestMessage(HttpMethod.Get, "/api/dialogs");
        operatorRequest.Headers.Add("Origin", "https://shop.example.com");
        operatorRequest.Headers.Authorization = _op.DefaultRequestHeaders.Authorization;
        using var operatorResponse = await _server.Client.SendAsync(operatorRequest);
        Assert.Equal(HttpStatusCode.OK, operatorResponse.StatusCode);
        Assert.False(operatorResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Guest_FromAForeignOrigin_IsRefused_FromAnAllowedOneAccepted()
    {
        var assistant = await _server.CreateAssistantAsync();
        using (var edit = await _op.PutAsJsonAsync($"/api/assistants/{assistant}/domains", new { allowed_domains = new[] { "shop.example.com" } }))
        {
            edit.EnsureSuccessStatusCode();
        }

        Assert.Equal(HttpStatusCode.Forbidden, await OpenFrom("https://evil.example.net"));
        Assert.Equal(HttpStatusCode.Created, await OpenFrom("https://shop.example.com"));

        async Task<HttpStatusCode> OpenFrom(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?assistant_id={assistant}&guest_id=g-{origin.Length}");
            request.Headers.Add("Origin", origin);
            using var response = await _server.Client.SendAsync(request);
            return response.StatusCode;
        }
    }

    [Fact]
    public async Task VerifiedIdentity_RequiresTheSitesHmacOfTheGuestId()
    {
        var assistant = await _server.CreateAssistantAsync();
        using var enable = await _op.PutAsJsonAsync($"/api/assistants/{assistant}/identity", new { require_verified_identity = true });
        var secret = (await enable.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("identity_secret").GetString()!;
        var hash = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "user-42"u8.ToArray()));

        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=user-42", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=user-42&identifier_hash={new string('0', 64)}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=user-43&identifier_hash={hash}", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=user-42&identifier_hash={hash}", null)).StatusCode);
    }

    [Fact]
    public async Task OperatorToken_ExpiredOrSignedWithAnotherKey_Is401()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var expired = Forge(TokenService.DevelopmentSigningKey, DateTime.UtcNow.AddHours(-2), DateTime.UtcNow.AddHours(-1));
        var foreign = Forge("another-key-another-key-another-key-1234", DateTime.UtcNow, DateTime.UtcNow.AddHours(1));
        foreach (var token in new[] { expired, foreign })
        {
            using var response = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/messages?token={token}");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Stream_NearTokenExpiry_GetsAuthExpiringAndCanRefresh_OrIsClosedAtExpiry()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            // Warning 5 s after login, 5 s before expiry: the refresh (a login, then the POST) must land in between,
            // which took over 3 s once on a 2-core machine running the whole suite (the stream had expired: 404).
            // The refreshed token then has 5 s to spare past the first one's expiry.
            ["Herald:Auth:TokenLifetime"] = "00:00:10",
            ["Herald:Streams:AuthWarningLead"] = "00:00:05",
        });
        var guest = await server.OpenGuestDialogAsync();

        // Refreshed: survives its first token's expiry.
        await using (var kept = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?token={await server.LoginAsync()}"))
        {
            var firstExpiry = DateTime.UtcNow.AddSeconds(10);
            var warning = await kept.NextAsync(TimeSpan.FromSeconds(12));
            Assert.Equal("auth-expiring", warning.EventType);
            var refresh = JsonDocument.Parse(warning.Data).RootElement.GetProperty("refresh").GetString()!;
            using var request = new HttpRequestMessage(HttpMethod.Post, refresh);
            request.Headers.Authorization = new("Bearer", await server.LoginAsync());
            using var refreshed = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
            var pastFirstExpiry = firstExpiry.AddMilliseconds(500) - DateTime.UtcNow;
            if (pastFirstExpiry > TimeSpan.Zero)
            {
                await Task.Delay(pastFirstExpiry); // the point of the test: the stream outlives its first token
            }

            await server.PostGuestMessageAsync(guest, "still connected");
            var next = await kept.NextAsync(TimeSpan.FromSeconds(5));
            while (next.EventType == "auth-expiring")
            {
                // The refreshed token is short-lived too, so it warns again; the stream is what matters.
                next = await kept.NextAsync(TimeSpan.FromSeconds(5));
            }

            Assert.Contains("still connected", next.Data, StringComparison.Ordinal);
        }

        // Not refreshed: closed at expiry, never downgraded.
        await using var dropped = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?token={await server.LoginAsync()}");
        Assert.Equal("auth-expiring", (await dropped.NextAsync(TimeSpan.FromSeconds(12))).EventType);
        await dropped.WaitForEndAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Limits_PerGuestPosting_PerIpConnections_AndLogins()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:MessagesPerGuestPerSecond"] = "0.5",
            ["Herald:Limits:MessageBurstPerGuest"] = "2",
            ["Herald:Limits:MaxConnectionsPerIp"] = "1",
            ["Herald:Limits:LoginsPerIpPerMinute"] = "3",
        });
        var guest = await server.OpenGuestDialogAsync();
        await server.PostGuestMessageAsync(guest, "1");
        await server.PostGuestMessageAsync(guest, "2");
        using var limited = await server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text = "3" });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Equal("rate_limited", (await limited.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        await using var first = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        using var second = await server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/events?{guest.Query}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.NotNull(second.Headers.RetryAfter);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var r = await server.Client.PostAsJsonAsync("/api/auth/login", new { email = "x@y.z", password = "nope" });
            statuses.Add(r.StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
    }

    /// <summary>
    /// A limited guest may post again once its bucket refills: the partitioned limiter's own timer replenishes its
    /// token buckets (RateLimits builds the partitions itself, with the buckets' own timers off).
    /// </summary>
    [Fact]
    public async Task Limits_PerGuestPosting_RefillsAfterALimit()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:MessagesPerGuestPerSecond"] = "5",
            ["Herald:Limits:MessageBurstPerGuest"] = "1",
        });
        var guest = await server.OpenGuestDialogAsync();
        await server.PostGuestMessageAsync(guest, "1");
        using (var limited = await server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text = "2" }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode status;
        do
        {
            await Task.Delay(100); // a poll, not a timing assertion: the bucket refills within a second
            using var retry = await server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { text = "3" });
            status = retry.StatusCode;
        }
        while (status == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Created, status);
    }

    private static HttpRequestMessage Preflight(string url, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, url);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        return request;
    }

    private static string Forge(string key, DateTime issued, DateTime expires) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "herald",
            Audience = "herald",
            IssuedAt = issued,
            NotBefore = issued,
            Expires = expires,
            Subject = new ClaimsIdentity([new Claim("sub", "1"), new Claim("email", "admin@herald.local")]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
}
