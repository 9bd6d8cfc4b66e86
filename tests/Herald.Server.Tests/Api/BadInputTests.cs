using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Api;

/// <summary>
/// Malformed and hostile requests get a clear error ({"error","detail"} with the right status) and change
/// nothing: after the whole table, the stored messages are exactly what the valid requests wrote.
/// </summary>
public sealed class BadInputTests(BadInputTests.Fixture fixture) : IClassFixture<BadInputTests.Fixture>
{
    private readonly HeraldTestNode _server = fixture.Server;
    private readonly Guest _guest = fixture.Guest;
    private readonly string _token = fixture.Token;
    private readonly string _siteToken = fixture.SiteToken;
    private readonly HttpClient _op = fixture.Operator;

    /// <summary>One node for the whole table: every row must leave the data as it found it, so they can share it.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public HeraldTestNode Server { get; private set; } = null!;
        public Guest Guest { get; private set; } = null!;
        public string Token { get; private set; } = "";
        public string SiteToken { get; private set; } = "";
        public HttpClient Operator { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Chat:MaxMessageLength"] = "4000" });
            Guest = await Server.OpenGuestDialogAsync();
            Token = await Server.LoginAsync();
            Operator = await Server.OperatorClientAsync();
            using var issued = await Operator.PostAsJsonAsync("/api/widgets", new { assistant_id = Guest.AssistantId, allowed_domains = new[] { "shop.example.com" } });
            SiteToken = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
            await Server.PostGuestMessageAsync(Guest, "the one valid message");
        }

        public async Task DisposeAsync()
        {
            Operator.Dispose();
            await Server.DisposeAsync();
        }
    }

    public static TheoryData<string, string, string?, string?, int, string> Cases()
    {
        // method, path template ({d} dialog, {q} guest query, {t} token), content type, body, status, error code
        var text4001 = new string('a', 4001);
        return new TheoryData<string, string, string?, string?, int, string>
        {
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "null", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "[1,2]", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":42}", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{}", 400, "missing_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"\"}", 400, "missing_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"   \"}", 400, "missing_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"" + text4001 + "\"}", 400, "text_too_long" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"a\\u0000b\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"\\ud800\"}", 400, "invalid_json" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "text/plain", "{\"text\":\"hi\"}", 415, "unsupported_media_type" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "application/json", "{\"text\":\"x\",\"sender\":\"manager\"}", 403, "forbidden" },
            { "POST", "/api/widget/dialogs/abc/messages?{q}", "application/json", "{\"text\":\"x\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/-1/messages?{q}", "application/json", "{\"text\":\"x\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/99999999999999999999/messages?{q}", "application/json", "{\"text\":\"x\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/424242/messages?{q}", "application/json", "{\"text\":\"x\"}", 403, "forbidden" },
            { "POST", "/api/widget/dialogs/{d}/messages?assistant_id={a}&guest_id=other", "application/json", "{\"text\":\"x\"}", 403, "forbidden" },
            { "POST", "/api/widget/dialogs/{d}/messages?assistant_id={a}&guest_id=bad%0d%0aid", "application/json", "{\"text\":\"x\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?assistant_id={a}&guest_id=", "application/json", "{\"text\":\"x\"}", 400, "missing_field" },
            { "POST", "/api/widget/dialogs/{d}/messages?assistant_id=zz&guest_id=g", "application/json", "{\"text\":\"x\"}", 400, "invalid_field" },
            { "POST", "/api/widget/dialogs/{d}/messages", "application/json", "{\"text\":\"x\"}", 401, "unauthorized" },
            { "POST", "/api/dialogs/{d}/messages?token=not-a-jwt", "application/json", "{\"text\":\"x\"}", 401, "unauthorized" },
            { "POST", "/api/dialogs/{d}/messages?token={t}x", "application/json", "{\"text\":\"x\"}", 401, "unauthorized" },
            { "POST", "/api/dialogs/{d}/messages?token={t}", "application/json", "{\"text\":\"x\",\"sender\":\"user\"}", 400, "invalid_field" },
            { "POST", "/api/dialogs/424242/messages?token={t}", "application/json", "{\"text\":\"x\"}", 404, "not_found" },
            { "GET", "/api/dialogs/{d}/messages?token={t}&after_id=-5", null, null, 400, "invalid_field" },
            { "GET", "/api/dialogs/{d}/messages?token={t}&limit=0", null, null, 400, "invalid_field" },
            { "POST", "/api/widget/dialogs?assistant_id=424242&guest_id=g", null, null, 401, "unauthorized" },
            { "POST", "/api/assistants?token={t}", "application/json", "{\"name\":\"\"}", 400, "missing_field" },
            { "POST", "/api/assistants?token={t}", "application/json", "{\"name\":\"a\\nb\"}", 400, "invalid_field" },
            { "POST", "/api/auth/login", "application/json", "{\"email\":\"a\"}", 400, "missing_field" },
            { "POST", "/api/auth/login", "application/json", "{\"email\":1,\"password\":2}", 400, "invalid_json" },
            { "POST", "/api/publish?token={t}", "application/json", "{\"topic\":\"a\\r\\nevent: x\",\"data\":1}", 400, "invalid_field" },
            { "POST", "/api/publish?token={t}", "application/json", "{\"topic\":\"ok\",\"event\":\"x\\ndata: y\",\"data\":1}", 400, "invalid_field" },
            { "POST", "/api/publish?token={t}", "application/json", "{\"topic\":\"ok\"}", 400, "missing_field" },
            { "POST", "/api/publish", "application/json", "{\"topic\":\"ok\",\"data\":1}", 401, "unauthorized" },
            { "GET", "/api/events?token={t}", null, null, 400, "missing_field" },
            { "GET", "/api/events?token={t}&topic=a%0Ab", null, null, 400, "invalid_field" },
            { "GET", "/api/nowhere", null, null, 404, "not_found" },
            { "DELETE", "/api/dialogs/{d}/messages?token={t}", null, null, 405, "method_not_allowed" },
            { "GET", "/api/dialogs/{d}/poll?{q}&timeout=99", null, null, 400, "invalid_field" },
            { "GET", "/api/dialogs/{d}/poll?{q}&after_id=abc", null, null, 400, "invalid_field" },
            { "GET", "/api/dialogs/{d}/poll?assistant_id={a}&guest_id=other&after_id=0", null, null, 403, "forbidden" },
            { "GET", "/api/poll?token={t}", null, null, 400, "missing_field" },
            { "GET", "/api/poll?topic=a", null, null, 401, "unauthorized" },
            { "GET", "/api/events/admin", null, null, 401, "unauthorized" },
            { "GET", "/api/events/admin?{q}", null, null, 401, "unauthorized" },
            { "GET", "/api/dialogs?token={t}&assistant_id=0", null, null, 400, "invalid_field" },
            { "GET", "/api/dialogs?{q}", null, null, 401, "unauthorized" },
            { "POST", "/api/widgets?token={t}", "application/json", "{}", 400, "missing_field" },
            { "POST", "/api/widgets?token={t}", "application/json", "{\"assistant_id\":\"x\"}", 400, "invalid_json" },
            { "POST", "/api/widgets?token={t}", "application/json", "{\"assistant_id\":{a},\"allowed_domains\":[\"bad domain\"]}", 400, "invalid_field" },
            { "POST", "/api/widgets?token={t}", "application/json", "{\"assistant_id\":{a},\"allowed_domains\":[\"a.com\\r\\nx\"]}", 400, "invalid_field" },
            { "POST", "/api/widgets?token={t}", "application/json", "{\"assistant_id\":987654}", 404, "not_found" },
            { "POST", "/api/widgets", "application/json", "{\"assistant_id\":{a}}", 401, "unauthorized" },
            { "POST", "/api/widgets?{q}", "application/json", "{\"assistant_id\":{a}}", 401, "unauthorized" },
            { "GET", "/api/widgets?token={t}&assistant_id=x", null, null, 400, "invalid_field" },
            { "POST", "/api/widgets/abc/revoke?token={t}", null, null, 400, "invalid_field" },
            { "POST", "/api/widgets/987654/revoke?token={t}", null, null, 404, "not_found" },
            { "POST", "/api/widgets/987654/rotate?token={t}", null, null, 404, "not_found" },
            { "POST", "/api/validate-widget-token", "application/json", "{}", 400, "missing_field" },
            { "POST", "/api/validate-widget-token", "application/json", "{\"token\":\"x\",\"domain\":\"bad\\r\\ndomain\"}", 400, "invalid_field" },
            { "PUT", "/api/assistants/{a}/domains?token={t}", "application/json", "{}", 400, "missing_field" },
            { "PUT", "/api/assistants/{a}/domains?token={t}", "application/json", "{\"allowed_domains\":[\"*\"]}", 400, "invalid_field" },
            { "PUT", "/api/assistants/987654/domains?token={t}", "application/json", "{\"allowed_domains\":[]}", 404, "not_found" },
            { "PUT", "/api/assistants/{a}/identity?token={t}", "application/json", "{}", 400, "missing_field" },
            { "PUT", "/api/assistants/{a}/identity", "application/json", "{\"require_verified_identity\":true}", 401, "unauthorized" },
            { "GET", "/api/dialogs/{d}/messages?site_token={s}&guest_id={g}", null, null, 403, "forbidden" },
            { "GET", "/api/dialogs/{d}/messages?site_token=hwt_forged&guest_id={g}", null, null, 403, "forbidden" },
            { "GET", "/api/dialogs/{d}/events?site_token={s}&guest_id={g}", null, null, 403, "forbidden" },
            { "POST", "/api/widget/dialogs?site_token={s}&guest_id=new-guest", null, null, 403, "forbidden" },
            { "POST", "/api/dialogs/{d}/read?{q}", null, null, 403, "forbidden" },
            { "POST", "/api/dialogs/{d}/typing?assistant_id={a}&guest_id=other", null, null, 403, "forbidden" },
            { "POST", "/api/streams/0123456789abcdef0123456789abcdef/auth?token={t}", null, null, 404, "not_found" },
            { "POST", "/api/streams/x/auth", null, null, 401, "unauthorized" },
            { "POST", "/api/publish?token={t}", "application/json", "{\"topic\":\"ok\",\"data\":1,\"durable\":\"yes\"}", 400, "invalid_json" },
            { "POST", "/api/publish?token={t}", "application/json", "{\"topic\":\"ok\",\"data\":1,\"event\":\"\"}", 400, "invalid_field" },
            { "POST", "/api/auth/login", "text/plain", "{\"email\":\"a\",\"password\":\"b\"}", 415, "unsupported_media_type" },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Request_Malformed_GetsClearErrorAndChangesNothing(string method, string path, string? contentType, string? body, int status, string error) =>
        SendAndCheckAsync(method, path, contentType, body, status, error);

    public static TheoryData<string, string, string> TrailingData()
    {
        // method, path template, body: a valid body followed by something that is not whitespace. Each would
        // change data (or log in) if the part before the extra were taken.
        const string garbage = " {\"text\":\"two\"} garbage";
        var login = $"{{\"email\":\"{HeraldTestNode.AdminEmail}\",\"password\":\"{HeraldTestNode.AdminPassword}\"}}";
        return new TheoryData<string, string, string>
        {
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}" + garbage },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}{\"text\":\"two\"}" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}x" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"} // comment" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}\u0000" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}\u00a0" },
            { "POST", "/api/widget/dialogs/{d}/messages?{q}", "{\"text\":\"one\"}\r\n}" },
            { "POST", "/api/dialogs/{d}/messages?token={t}", "{\"text\":\"one\"}" + garbage },
            { "POST", "/api/auth/login", login + garbage },
            { "POST", "/api/auth/login", login + "]" },
            { "POST", "/api/assistants?token={t}", "{\"name\":\"Extra\"}" + garbage },
            { "POST", "/api/publish?token={t}", "{\"topic\":\"ok\",\"data\":1}" + garbage },
            { "POST", "/api/publish?token={t}", "{\"topic\":\"ok\",\"data\":1,\"durable\":false} 1" },
            { "POST", "/api/widgets?token={t}", "{\"assistant_id\":{a}}" + garbage },
            { "POST", "/api/validate-widget-token", "{\"token\":\"{s}\",\"domain\":\"shop.example.com\"}" + garbage },
            { "PUT", "/api/assistants/{a}/domains?token={t}", "{\"allowed_domains\":[\"other.example\"]}" + garbage },
            { "PUT", "/api/assistants/{a}/identity?token={t}", "{\"require_verified_identity\":true}" + garbage },
        };
    }

    /// <summary>Only whitespace may follow the JSON value: anything else is refused, and the value before it is not used.</summary>
    [Theory]
    [MemberData(nameof(TrailingData))]
    public Task Body_WithDataAfterTheJsonValue_IsInvalidJsonAndChangesNothing(string method, string path, string body) =>
        SendAndCheckAsync(method, path, "application/json", body, 400, "invalid_json");

    [Fact]
    public async Task Body_WithTrailingWhitespace_IsAccepted()
    {
        var guest = await _server.OpenGuestDialogAsync("trailing-whitespace", _guest.AssistantId);
        using var content = new StringContent("{\"text\":\"kept\"} \r\n\t \n", Encoding.UTF8, "application/json");
        using var response = await _server.Client.PostAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("\"kept\"", await _op.GetStringAsync($"/api/dialogs/{guest.DialogId}/messages"), StringComparison.Ordinal);
    }

    /// <summary>WebSocket client messages follow the same rule: the socket answers an error frame and stays open.</summary>
    [Theory]
    [InlineData("/ws?token={t}", "{\"type\":\"ping\"} garbage")]
    [InlineData("/ws?token={t}", "{\"type\":\"subscribe\"}{\"type\":\"ping\"}")]
    [InlineData("/ws/widget/dialogs/{d}?{q}", "{\"type\":\"auth\",\"token\":\"{t}\"} garbage")]
    public async Task WebSocketMessage_WithDataAfterTheJsonValue_IsInvalidJson(string path, string message)
    {
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, Expand(path));
        if (path.StartsWith("/ws?", StringComparison.Ordinal))
        {
            Assert.Equal("connected", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        }

        await ws.SendAsync(Expand(message));
        var reply = await ws.ReceiveJsonAsync();
        Assert.Equal("error", reply.GetProperty("type").GetString());
        Assert.Equal("invalid_json", reply.GetProperty("error").GetString());
        await ws.SendAsync(path.StartsWith("/ws?", StringComparison.Ordinal) ? "{\"type\":\"ping\"}" : "__ping__");
        Assert.Contains("pong", await ws.ReceiveAsync(), StringComparison.Ordinal);
    }

    private async Task SendAndCheckAsync(string method, string path, string? contentType, string? body, int status, string error)
    {
        var before = await HistoryAsync();
        var url = Expand(path);
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Expand(body)));
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
            }
        }

        using var response = await _server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("detail").GetString()));
        Assert.Equal(before, await HistoryAsync());
    }

    [Fact]
    public async Task Body_OverTheLimit_Is413()
    {
        var huge = "{\"text\":\"" + new string('a', 200_000) + "\"}";
        using var response = await _server.Client.PostAsync($"/api/widget/dialogs/{_guest.DialogId}/messages?{_guest.Query}",
            new StringContent(huge, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("payload_too_large", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Body_InvalidUtf8_Is400()
    {
        var bytes = new byte[] { (byte)'{', (byte)'"', (byte)'t', (byte)'e', (byte)'x', (byte)'t', (byte)'"', (byte)':', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)'}' };
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await _server.Client.PostAsync($"/api/widget/dialogs/{_guest.DialogId}/messages?{_guest.Query}", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Text_WithLineBreaksAndSseSyntax_CannotForgeFields()
    {
        var evil = "line1\r\nid: 999999\r\nevent: reset\n\ndata: {\"type\":\"forged\"}\rretry: 1";
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var guest = await server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await server.PostGuestMessageAsync(guest, evil);
        var item = await sse.NextAsync();
        Assert.Equal("message", item.EventType);
        Assert.NotEqual("999999", item.EventId);
        Assert.Equal(evil, JsonDocument.Parse(item.Data).RootElement.GetProperty("message").GetProperty("text").GetString());
        Assert.True(await sse.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void Table_HasAtLeastSixtyHostileRequests() => Assert.True(Cases().Count >= 60, $"only {Cases().Count} cases");

    /// <summary>Random bytes to every JSON endpoint, with valid credentials so parsing is reached; bounded in time.</summary>
    [Fact]
    public async Task Fuzz_RandomBodies_NeverCrashOrChangeData()
    {
        var before = await HistoryAsync();
        var endpoints = new[]
        {
            "/api/widget/dialogs/{d}/messages?{q}", "/api/dialogs/{d}/messages?token={t}", "/api/assistants?token={t}", "/api/auth/login",
            "/api/publish?token={t}", "/api/widgets?token={t}", "/api/validate-widget-token", "PUT /api/assistants/{a}/domains?token={t}",
            "PUT /api/assistants/{a}/identity?token={t}",
        };
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var deadline = DateTime.UtcNow.AddSeconds(4);
        var sent = 0;
        var alphabet = "{}[]\":,0123456789.-+eEtruefalsnl \\\r\n\u0000text"u8.ToArray();
        while (DateTime.UtcNow < deadline)
        {
            foreach (var endpoint in endpoints)
            {
                var (method, path) = endpoint.StartsWith("PUT ", StringComparison.Ordinal) ? ("PUT", endpoint[4..]) : ("POST", endpoint);
                var body = new byte[random.Next(0, 600)];
                if (random.Next(2) == 0)
                {
                    random.NextBytes(body);
                }
                else
                {
                    // JSON-ish noise gets further into the parser than uniform bytes.
                    for (var i = 0; i < body.Length; i++)
                    {
                        body[i] = alphabet[random.Next(alphabet.Length)];
                    }
                }

                using var request = new HttpRequestMessage(new HttpMethod(method), Expand(path)) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await _server.Client.SendAsync(request);
                var status = (int)response.StatusCode;
                Assert.True(status is 400 or 401 or 404 or 409 or 413 or 415 or 429,
                    $"seed {seed}: {method} {path} answered {status} to {Convert.ToHexString(body)}");
                sent++;
            }
        }

        Assert.True(sent > endpoints.Length);
        Assert.Equal(before, await HistoryAsync());
        using var health = await _server.Client.GetAsync("/api/sse/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private string Expand(string template) => template
        .Replace("{d}", _guest.DialogId.ToString()).Replace("{q}", _guest.Query).Replace("{a}", _guest.AssistantId.ToString())
        .Replace("{t}", _token).Replace("{s}", _siteToken).Replace("{g}", _guest.GuestId);

    /// <summary>Everything a request could change: messages, dialogs, assistants, tokens, the event head.</summary>
    private async Task<string> HistoryAsync() =>
        await _op.GetStringAsync($"/api/dialogs/{_guest.DialogId}/messages")
        + await _op.GetStringAsync("/api/dialogs?include_empty=true")
        + await _op.GetStringAsync("/api/assistants")
        + await _op.GetStringAsync("/api/widgets")
        + (await _server.Client.GetFromJsonAsync<JsonElement>("/api/sse/health")).GetProperty("last_event_id").GetInt64();
}
