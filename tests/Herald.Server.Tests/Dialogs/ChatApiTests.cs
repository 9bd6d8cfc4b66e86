using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Dialogs;

public sealed class ChatApiTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Login_ReturnsBearerToken()
    {
        using var response = await _server.Client.PostAsJsonAsync("/api/auth/login", new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("bearer", body.GetProperty("token_type").GetString());
        Assert.True(body.GetProperty("expires_in").GetInt64() > 0);
        Assert.Equal(3, body.GetProperty("access_token").GetString()!.Split('.').Length);
    }

    [Theory]
    [InlineData(HeraldTestNode.AdminEmail, "wrong")]
    [InlineData("nobody@example.com", "whatever")]
    public async Task Login_WrongCredentials_Is401WithoutSayingWhich(string email, string password)
    {
        using var response = await _server.Client.PostAsJsonAsync("/api/auth/login", new { email, password });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_credentials", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Assistants_CreateAndList_RequireOperator()
    {
        using var anonymous = await _server.Client.PostAsJsonAsync("/api/assistants", new { name = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        using var op = await _server.OperatorClientAsync();
        using var created = await op.PostAsJsonAsync("/api/assistants", new { name = "Support" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var assistant = await created.Content.ReadFromJsonAsync<JsonElement>();
        var list = await op.GetFromJsonAsync<JsonElement>("/api/assistants");
        Assert.Contains(list.EnumerateArray(), a => a.GetProperty("id").GetInt64() == assistant.GetProperty("id").GetInt64() && a.GetProperty("name").GetString() == "Support");
    }

    [Fact]
    public async Task GuestDialog_IsCreatedOnceAndReturnedAfterwards()
    {
        var assistant = await _server.CreateAssistantAsync();
        using var first = await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=g-1", null);
        using var second = await _server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=g-1", null);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64(),
            (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task Conversation_GuestAndOperator_SeeTheSameHistory()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await _server.PostGuestMessageAsync(guest, "Hi");
        using var op = await _server.OperatorClientAsync();
        using var reply = await op.PostAsJsonAsync($"/api/dialogs/{guest.DialogId}/messages", new { text = "Hello, how can I help?" });
        Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        var replyBody = await reply.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("manager", replyBody.GetProperty("sender").GetString());

        var guestView = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}");
        var operatorView = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/messages");
        Assert.Equal(["user", "manager"], guestView.EnumerateArray().Select(m => m.GetProperty("sender").GetString()));
        Assert.Equal(guestView.ToString(), operatorView.ToString());

        var after = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/messages?after_id={guestView[0].GetProperty("id").GetInt64()}");
        Assert.Equal("Hello, how can I help?", Assert.Single(after.EnumerateArray()).GetProperty("text").GetString());

        var dialogs = await op.GetFromJsonAsync<JsonElement>("/api/dialogs");
        var dialog = dialogs.EnumerateArray().Single(d => d.GetProperty("id").GetInt64() == guest.DialogId);
        Assert.Equal("Hello, how can I help?", dialog.GetProperty("last_message_text").GetString());
        Assert.Equal(0, dialog.GetProperty("unread_count").GetInt64());
    }

    [Fact]
    public async Task GuestMessage_AsManager_IsForbidden()
    {
        var guest = await _server.OpenGuestDialogAsync();
        using var response = await _server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { sender = "manager", text = "spoof" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var history = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}");
        Assert.Empty(history.EnumerateArray());
    }

    [Fact]
    public async Task Post_RetriedWithTheSameClientMessageId_StoresAndDeliversOnce()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        var url = $"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}";
        using var first = await _server.Client.PostAsJsonAsync(url, new { text = "once", client_message_id = "c-123" });
        using var retry = await _server.Client.PostAsJsonAsync(url, new { text = "once", client_message_id = "c-123" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64(),
            (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());

        var delivered = await sse.NextAsync();
        Assert.Equal("c-123", JsonDocument.Parse(delivered.Data).RootElement.GetProperty("message").GetProperty("client_message_id").GetString());
        Assert.True(await sse.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
        var history = await _server.Client.GetFromJsonAsync<JsonElement>(url);
        Assert.Single(history.EnumerateArray());

        using var bad = await _server.Client.PostAsJsonAsync(url, new { text = "x", client_message_id = "has space" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task OpenApi_DocumentIsServed()
    {
        var doc = await _server.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.True(doc.GetProperty("paths").TryGetProperty("/api/dialogs/{id}/events", out _));
    }
}
