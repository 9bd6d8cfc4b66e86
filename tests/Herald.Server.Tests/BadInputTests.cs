using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;

namespace Herald.Server.Tests;

/// <summary>
/// Malformed and hostile requests get a clear error ({"error","detail"} with the right status) and change
/// nothing: after the whole table, the stored messages are exactly what the valid requests wrote.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private HeraldTestServer _server = null!;
    private Guest _guest = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _server = await HeraldTestServer.StartAsync(new Dictionary<string, string> { ["Herald:Chat:MaxMessageLength"] = "4000" });
        _guest = await _server.OpenGuestDialogAsync();
        _token = await _server.LoginAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

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
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Request_Malformed_GetsClearErrorAndChangesNothing(string method, string path, string? contentType, string? body, int status, string error)
    {
        var before = await HistoryAsync();
        var url = path.Replace("{d}", _guest.DialogId.ToString()).Replace("{q}", _guest.Query).Replace("{a}", _guest.AssistantId.ToString()).Replace("{t}", _token);
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
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
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{_guest.DialogId}/events?{_guest.Query}");
        await _server.PostGuestMessageAsync(_guest, evil);
        var item = await sse.NextAsync();
        Assert.Equal("message", item.EventType);
        Assert.NotEqual("999999", item.EventId);
        Assert.Equal(evil, JsonDocument.Parse(item.Data).RootElement.GetProperty("message").GetProperty("text").GetString());
        Assert.True(await sse.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    private async Task<string> HistoryAsync() =>
        await _server.Client.GetStringAsync($"/api/widget/dialogs/{_guest.DialogId}/messages?{_guest.Query}");
}
