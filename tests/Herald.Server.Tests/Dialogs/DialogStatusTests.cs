using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Hosting;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Dialogs;

/// <summary>
/// A team's inbox (issue 19, item 10): dialogs are resolved and reopened, assigned to an operator, filtered by both;
/// every change is announced live; only operators change them; a visitor sees an operator's display name, never the
/// email.
/// </summary>
public sealed class DialogStatusTests : IAsyncLifetime
{
    private const string SecondEmail = "bob.stone@herald.local";
    private const string SecondPassword = "bob-long-password";

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

    private async Task<Guest> GuestWhoWroteAsync(string guestId)
    {
        var guest = await _server.OpenGuestDialogAsync(guestId);
        await _server.PostGuestMessageAsync(guest, "Hello, is anyone there?");
        return guest;
    }

    private async Task<JsonElement> PutAsync(HttpClient client, string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.PutAsJsonAsync(path, body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {json}{_server.ServerErrors()}");
        return json;
    }

    private async Task<List<long>> ListAsync(HttpClient client, string query = "")
    {
        var list = await client.GetFromJsonAsync<JsonElement>("/api/dialogs" + query);
        return [.. list.EnumerateArray().Select(d => d.GetProperty("id").GetInt64()).Order()];
    }

    private async Task<(long Id, HttpClient Client)> SecondOperatorAsync()
    {
        var accounts = new OperatorAccounts(_server.GetService<SqlStore>(), _server.GetService<OperatorPasswords>());
        var record = await accounts.AddAsync(SecondEmail, SecondPassword, null, CancellationToken.None);
        using var login = await _server.Client.PostAsJsonAsync("/api/auth/login", new { email = SecondEmail, password = SecondPassword });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        var client = new HttpClient { BaseAddress = _server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (record.Id, client);
    }

    [Fact]
    public async Task SetStatus_ResolveThenVisitorWrites_AnnouncedOnFeedAndDialogTopic_AndReopens()
    {
        var guest = await GuestWhoWroteAsync("status-1");
        await using var feed = await SseTestClient.ConnectAsync(_op, "/api/events/admin");
        await using var topic = await SseTestClient.ConnectAsync(_op, $"/api/dialogs/{guest.DialogId}/events");

        var resolved = await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/status", new { status = "resolved" });
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());

        foreach (var stream in new[] { feed, topic })
        {
            var update = JsonDocument.Parse((await stream.NextAsync()).Data).RootElement;
            Assert.Equal("dialog_update", update.GetProperty("type").GetString());
            Assert.Equal(guest.DialogId, update.GetProperty("dialog").GetProperty("id").GetInt64());
            Assert.Equal("resolved", update.GetProperty("dialog").GetProperty("status").GetString());
        }

        // The console's default list is the open dialogs; resolved ones are asked for.
        Assert.DoesNotContain(guest.DialogId, await ListAsync(_op));
        Assert.Contains(guest.DialogId, await ListAsync(_op, "?status=resolved"));
        Assert.Contains(guest.DialogId, await ListAsync(_op, "?status=all"));

        // Resolving again is no change: nothing announced, so the next event on the feed is the visitor's message.
        await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/status", new { status = "resolved" });
        await _server.PostGuestMessageAsync(guest, "One more question");
        var next = JsonDocument.Parse((await feed.NextAsync()).Data).RootElement;
        Assert.Equal("new_message", next.GetProperty("type").GetString());
        var reopened = JsonDocument.Parse((await feed.NextAsync()).Data).RootElement;
        Assert.Equal("open", reopened.GetProperty("dialog").GetProperty("status").GetString());
        Assert.Contains(guest.DialogId, await ListAsync(_op));
        Assert.Equal("open", (await _op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Assign_ToMeToAnotherAndNobody_FiltersByAssignee()
    {
        var guest = await GuestWhoWroteAsync("assign-1");
        var other = await GuestWhoWroteAsync("assign-2");
        var (bobId, bob) = await SecondOperatorAsync();
        using var _ = bob;
        var me = await _op.GetFromJsonAsync<JsonElement>("/api/operators/me");
        var myId = me.GetProperty("id").GetInt64();
        var team = await _op.GetFromJsonAsync<JsonElement>("/api/operators");
        Assert.Contains(team.EnumerateArray(), o => o.GetProperty("id").GetInt64() == bobId && o.GetProperty("display_name").GetString() == "Bob Stone");

        await using var feed = await SseTestClient.ConnectAsync(bob, "/api/events/admin");
        Assert.Equal(myId, (await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/assignee", new { operator_id = myId })).GetProperty("assignee_id").GetInt64());
        Assert.Equal([guest.DialogId], await ListAsync(_op, "?assignee=me"));
        Assert.Equal([other.DialogId], await ListAsync(_op, "?assignee=none"));

        // Handed to Bob: his console hears it, his "mine" has it.
        await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/assignee", new { operator_id = bobId });
        var first = JsonDocument.Parse((await feed.NextAsync()).Data).RootElement.GetProperty("dialog");
        Assert.Equal(myId, first.GetProperty("assignee_id").GetInt64());
        var second = JsonDocument.Parse((await feed.NextAsync()).Data).RootElement.GetProperty("dialog");
        Assert.Equal(bobId, second.GetProperty("assignee_id").GetInt64());
        Assert.Equal([guest.DialogId], await ListAsync(bob, "?assignee=me"));
        Assert.Equal([guest.DialogId], await ListAsync(_op, $"?assignee={bobId}"));
        Assert.Empty(await ListAsync(_op, "?assignee=me"));

        var unassigned = await PutAsync(bob, $"/api/dialogs/{guest.DialogId}/assignee", new { operator_id = (long?)null });
        Assert.Equal(JsonValueKind.Null, unassigned.GetProperty("assignee_id").ValueKind);
        Assert.Equal([guest.DialogId, other.DialogId], await ListAsync(_op, "?assignee=none"));
    }

    public static TheoryData<string, string, string, int, string> BadRequests() => new()
    {
        { "PUT", "/api/dialogs/{d}/status", """{"status":"closed"}""", 400, "invalid_field" },
        { "PUT", "/api/dialogs/{d}/status", """{}""", 400, "missing_field" },
        { "PUT", "/api/dialogs/{d}/status", """{"status":1}""", 400, "invalid_json" },
        { "PUT", "/api/dialogs/{d}/status", """not json""", 400, "invalid_json" },
        { "PUT", "/api/dialogs/999999/status", """{"status":"resolved"}""", 404, "not_found" },
        { "PUT", "/api/dialogs/abc/status", """{"status":"resolved"}""", 400, "invalid_field" },
        { "PUT", "/api/dialogs/{d}/assignee", """{}""", 400, "invalid_json" },
        { "PUT", "/api/dialogs/{d}/assignee", """{"operator_id":999999}""", 400, "invalid_field" },
        { "PUT", "/api/dialogs/{d}/assignee", """{"operator_id":0}""", 400, "invalid_field" },
        { "PUT", "/api/dialogs/{d}/assignee", """{"operator_id":"me"}""", 400, "invalid_json" },
        { "PUT", "/api/dialogs/999999/assignee", """{"operator_id":null}""", 404, "not_found" },
        { "GET", "/api/dialogs?status=closed", "", 400, "invalid_field" },
        { "GET", "/api/dialogs?assignee=someone", "", 400, "invalid_field" },
        { "GET", "/api/dialogs?assignee=-1", "", 400, "invalid_field" },
        { "PUT", "/api/operators/me", """{"display_name":"  "}""", 400, "missing_field" },
        { "PUT", "/api/operators/me", """{"display_name":"Ada\u0007"}""", 400, "invalid_field" },
        { "PUT", "/api/operators/me", """{"display_name":"LONG"}""", 400, "invalid_field" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInput_IsAnErrorBody_AndChangesNothing(string method, string path, string body, int status, string code)
    {
        var guest = await GuestWhoWroteAsync("bad-1");
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{d}", guest.DialogId.ToString(), StringComparison.Ordinal));
        if (method == "PUT")
        {
            request.Content = new StringContent(body.Replace("LONG", new string('a', 101), StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await _op.SendAsync(request);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, error.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("detail").GetString()));

        var dialog = await _op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}");
        Assert.Equal("open", dialog.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, dialog.GetProperty("assignee_id").ValueKind);
        Assert.Equal("Admin", (await _op.GetFromJsonAsync<JsonElement>("/api/operators/me")).GetProperty("display_name").GetString());
    }

    [Fact]
    public async Task GuestOrWidgetToken_CannotResolveOrAssign()
    {
        var assistant = await _server.CreateAssistantAsync();
        using var issued = await _op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant, allowed_domains = new[] { "shop.example.com" } });
        var siteToken = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        var guest = await _server.OpenGuestDialogAsync("intruder", assistant);
        await _server.PostGuestMessageAsync(guest, "hi");
        var myId = (await _op.GetFromJsonAsync<JsonElement>("/api/operators/me")).GetProperty("id").GetInt64();

        var site = new HttpClient { BaseAddress = _server.BaseAddress };
        site.DefaultRequestHeaders.Add("Origin", "https://shop.example.com");
        using (site)
        {
            foreach (var (client, query, expected) in new[]
                     {
                         (_server.Client, guest.Query, HttpStatusCode.Forbidden),
                         (site, $"site_token={siteToken}&guest_id={guest.GuestId}", HttpStatusCode.Forbidden),
                         (_server.Client, "", HttpStatusCode.Unauthorized),
                     })
            {
                await PutAsync(client, $"/api/dialogs/{guest.DialogId}/status?{query}", new { status = "resolved" }, expected);
                await PutAsync(client, $"/api/dialogs/{guest.DialogId}/assignee?{query}", new { operator_id = myId }, expected);
                using var list = await client.GetAsync($"/api/operators?{query}");
                Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
            }
        }

        var dialog = await _op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}");
        Assert.Equal("open", dialog.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, dialog.GetProperty("assignee_id").ValueKind);
    }

    [Fact]
    public async Task OperatorMessage_VisitorSeesTheDisplayName_NeverTheEmail()
    {
        var guest = await GuestWhoWroteAsync("names-1");
        var widget = $"/api/widget/dialogs/{guest.DialogId}";
        await using var visitorStream = await SseTestClient.ConnectAsync(_server.Client, $"{widget}/events?{guest.Query}");

        // The default comes from the email's local part, not the email.
        using (var reply = await _op.PostAsJsonAsync($"/api/dialogs/{guest.DialogId}/messages", new { text = "Hi, Admin here" }))
        {
            Assert.Equal("Admin", (await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("author_name").GetString());
        }

        var me = await PutAsync(_op, "/api/operators/me", new { display_name = "  Ada from Support " });
        Assert.Equal("Ada from Support", me.GetProperty("display_name").GetString());
        using (var reply = await _op.PostAsJsonAsync($"/api/dialogs/{guest.DialogId}/messages", new { text = "How can I help?" }))
        {
            Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        }

        await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/assignee", new { operator_id = me.GetProperty("id").GetInt64() });
        await PutAsync(_op, $"/api/dialogs/{guest.DialogId}/status", new { status = "resolved" });

        // Everything the visitor's side receives: the live events and the history.
        var live = await visitorStream.TakeAsync(4);
        var message = JsonDocument.Parse(live[1].Data).RootElement.GetProperty("message");
        Assert.Equal("Ada from Support", message.GetProperty("author_name").GetString());
        Assert.Equal(["message:new", "message:new", "dialog_update", "dialog_update"], live.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("type").GetString()));
        var history = await _server.Client.GetStringAsync($"{widget}/messages?{guest.Query}");
        var opened = await _server.Client.PostAsync($"/api/widget/dialogs?{guest.Query}", null);
        var widgetPayloads = string.Join('\n', live.Select(e => e.Data).Append(history).Append(await opened.Content.ReadAsStringAsync()));
        Assert.Contains("\"author_name\":\"Ada from Support\"", history, StringComparison.Ordinal);
        Assert.DoesNotContain(HeraldTestNode.AdminEmail, widgetPayloads, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(System.Text.RegularExpressions.Regex.Matches(widgetPayloads, @"[\w.+-]+@[\w-]+\.[\w.]+"));
    }
}
