using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Transports;

/// <summary>WebSocket (seeds 001, 002), long polling and the operators' feed deliver the same events as SSE.</summary>
public sealed class TransportTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task WebSocketResume_EventAtOrBelowLastEventIdArrivingLate_IsNotSentAgain()
    {
        // As SseStreamTests' twin: event N reaches this node (through the backplane) only after the client, which had
        // it from another node, came back with last_event_id=N. It must not be sent again.
        var guest = await _server.OpenGuestDialogAsync();
        var seen = (await _server.PostGuestMessageAsync(guest, "already seen")).GetProperty("id").GetInt64();
        var seenEventId = (await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id=0"))
            .GetProperty("events")[0].GetProperty("id").GetInt64();
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}&last_event_id={seenEventId}");
        await ws.SendAsync("__ping__");
        Assert.Equal("__pong__", await ws.ReceiveAsync()); // the connection's subscriber is registered by now

        var late = new HubEvent(seenEventId, Herald.Server.Dialogs.DialogTopics.For(guest.DialogId), "message",
            JsonSerializer.SerializeToUtf8Bytes(new { type = "message:new", message = new { id = seen, text = "already seen" } }), 0);
        Assert.Equal(1, _server.GetService<TopicRegistry>().Publish(late));
        await _server.PostGuestMessageAsync(guest, "new");

        var next = await ws.ReceiveJsonAsync();
        Assert.Equal("new", next.GetProperty("message").GetProperty("text").GetString());
        Assert.True(next.GetProperty("event_id").GetInt64() > seenEventId);
    }

    [Fact]
    public async Task AllTransports_DeliverTheSameEventsInTheSameOrderWithTheSameIds()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var token = await _server.LoginAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var wsGuest = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}");
        await using var wsOperator = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/dialogs/{guest.DialogId}?token={token}");
        var start = (await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}")).GetProperty("last_event_id").GetInt64();

        // Wait until both sockets are registered: a ping round trip proves the session loop runs.
        foreach (var ws in new[] { wsGuest, wsOperator })
        {
            await ws.SendAsync("__ping__");
            Assert.Equal("__pong__", await ws.ReceiveAsync());
        }

        for (var i = 0; i < 20; i++)
        {
            await _server.PostGuestMessageAsync(guest, $"m{i}");
        }

        var fromSse = (await sse.TakeAsync(20)).Select(e => (Id: long.Parse(e.EventId!), Text: Text(JsonDocument.Parse(e.Data).RootElement))).ToList();
        var fromGuestWs = new List<(long, string)>();
        var fromOperatorWs = new List<(long, string)>();
        for (var i = 0; i < 20; i++)
        {
            var g = await wsGuest.ReceiveJsonAsync();
            fromGuestWs.Add((g.GetProperty("event_id").GetInt64(), Text(g)));
            var o = await wsOperator.ReceiveJsonAsync();
            fromOperatorWs.Add((o.GetProperty("event_id").GetInt64(), Text(o)));
            Assert.Equal("message:new", g.GetProperty("type").GetString());
        }

        var fromPoll = new List<(long, string)>();
        var after = start;
        while (fromPoll.Count < 20)
        {
            var page = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={after}&timeout=5");
            foreach (var e in page.GetProperty("events").EnumerateArray())
            {
                fromPoll.Add((e.GetProperty("id").GetInt64(), Text(e.GetProperty("data"))));
            }

            after = page.GetProperty("last_event_id").GetInt64();
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), fromSse.Select(e => e.Text));
        Assert.Equal(fromSse, fromGuestWs);
        Assert.Equal(fromSse, fromOperatorWs);
        Assert.Equal(fromSse, fromPoll);
    }

    [Fact]
    public async Task LongPoll_WaitsForTheNextEventAndReturnsItAtOnce()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var head = (await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}")).GetProperty("last_event_id").GetInt64();
        var poll = _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={head}&timeout=20");
        // The poll is waiting (it registered as a long-poll connection) before the message is posted.
        await Poll.UntilAsync(async () => (await _server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats"))
            .GetProperty("connection_details").GetProperty("by_transport").TryGetProperty("long-poll", out var n) && n.GetInt64() == 1);
        Assert.False(poll.IsCompleted);
        await _server.PostGuestMessageAsync(guest, "wake up");
        var result = await poll.WaitAsync(TimeSpan.FromSeconds(10));
        var only = Assert.Single(result.GetProperty("events").EnumerateArray());
        Assert.Equal("wake up", Text(only.GetProperty("data")));
        Assert.Equal(only.GetProperty("id").GetInt64(), result.GetProperty("last_event_id").GetInt64());
    }

    [Fact]
    public async Task LongPoll_TimesOutEmpty()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var result = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id=0&timeout=1");
        Assert.Empty(result.GetProperty("events").EnumerateArray());
        Assert.Equal(0, result.GetProperty("last_event_id").GetInt64());
    }

    [Theory]
    [InlineData("timeout=31")]
    [InlineData("timeout=-1")]
    [InlineData("after_id=x")]
    public async Task LongPoll_BadParameters_Are400(string query)
    {
        var guest = await _server.OpenGuestDialogAsync();
        using var response = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task WebSocket_ResumeWithLastEventId_ReplaysThenGoesLive()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await _server.PostGuestMessageAsync(guest, "old1");
        await _server.PostGuestMessageAsync(guest, "old2");
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}&last_event_id=0");
        Assert.Equal("old1", Text(await ws.ReceiveJsonAsync()));
        Assert.Equal("old2", Text(await ws.ReceiveJsonAsync()));
        await _server.PostGuestMessageAsync(guest, "live");
        Assert.Equal("live", Text(await ws.ReceiveJsonAsync()));
    }

    [Theory]
    [InlineData("/ws/dialogs/{d}", 4001)]
    [InlineData("/ws/dialogs/{d}?token=forged", 4001)]
    [InlineData("/ws/widget/dialogs/{d}?assistant_id={a}&guest_id=intruder", 4003)]
    [InlineData("/ws/widget/dialogs/abc?assistant_id={a}&guest_id=owner", 4000)]
    [InlineData("/ws/dialogs/777777?token={t}", 4004)]
    [InlineData("/ws/site/dialogs/{d}?site_token=nope&guest_id=owner", 4003)]
    [InlineData("/ws?token=forged", 4001)]
    public async Task WebSocket_AuthorisationFailure_ClosesWithDocumentedCode(string path, int code)
    {
        var guest = await _server.OpenGuestDialogAsync("owner");
        var token = await _server.LoginAsync();
        var url = path.Replace("{d}", guest.DialogId.ToString()).Replace("{a}", guest.AssistantId.ToString()).Replace("{t}", token);
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, url);
        var (closeCode, reason) = await ws.WaitForCloseAsync();
        Assert.Equal(code, closeCode);
        Assert.False(string.IsNullOrEmpty(reason));
    }

    /// <summary>Seed 001's widget URLs carry no guest_id; the close reason must say that this is what is missing.</summary>
    [Theory]
    [InlineData("/ws/widget/dialogs/{d}?assistant_id={a}")]
    [InlineData("/ws/widget/dialogs/{d}?assistant_id={a}&guest_id=")]
    [InlineData("/ws/site/dialogs/{d}?site_token={s}")]
    public async Task DialogSocket_WithoutGuestId_ClosesWith4000NamingGuestId(string path)
    {
        var guest = await _server.OpenGuestDialogAsync("owner");
        using var op = await _server.OperatorClientAsync();
        using var issued = await op.PostAsJsonAsync("/api/widgets", new { assistant_id = guest.AssistantId, allowed_domains = new[] { "shop.example.com" } });
        var siteToken = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        var url = path.Replace("{d}", guest.DialogId.ToString()).Replace("{a}", guest.AssistantId.ToString()).Replace("{s}", siteToken);
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, url);
        var (closeCode, reason) = await ws.WaitForCloseAsync();
        Assert.Equal(4000, closeCode);
        Assert.StartsWith("guest_id is missing", reason, StringComparison.Ordinal);
    }

    /// <summary>Seed 002's client pings with the bare text <c>ping</c>; it gets the same answer as the JSON ping.</summary>
    [Theory]
    [InlineData("ping")]
    [InlineData("ping\n")]
    public async Task OperatorSocket_BareTextPing_GetsPong(string ping)
    {
        var token = await _server.LoginAsync();
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws?token={token}");
        Assert.Equal("connected", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        await ws.SendAsync(ping);
        Assert.Equal("{\"type\":\"pong\"}", await ws.ReceiveAsync());
        await ws.SendAsync("pingx");
        Assert.Equal("invalid_json", (await ws.ReceiveJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task WebSocket_PlainHttpRequest_Is400()
    {
        using var response = await _server.Client.GetAsync("/ws/dialogs/1");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task OperatorSocket_Seed002_ConnectedSubscribedPongAndPushes()
    {
        var token = await _server.LoginAsync();
        var watched = await _server.OpenGuestDialogAsync("watched");
        var other = await _server.OpenGuestDialogAsync("other", watched.AssistantId);
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws?token={token}");
        Assert.Equal("connected", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        await ws.SendAsync("{\"type\":\"ping\"}");
        Assert.Equal("pong", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        await ws.SendAsync($"{{\"type\":\"subscribe\",\"dialog_ids\":[{watched.DialogId}]}}");
        Assert.Equal("subscribed", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());

        await _server.PostGuestMessageAsync(other, "not for this socket");
        await _server.PostGuestMessageAsync(watched, "for this socket");
        var newMessage = await ws.ReceiveJsonAsync();
        Assert.Equal("new_message", newMessage.GetProperty("type").GetString());
        Assert.Equal(watched.DialogId, newMessage.GetProperty("dialog_id").GetInt64());
        Assert.Equal("for this socket", Text(newMessage));
        var update = await ws.ReceiveJsonAsync();
        Assert.Equal("dialog_update", update.GetProperty("type").GetString());
        Assert.Equal(1, update.GetProperty("dialog").GetProperty("unread_count").GetInt64());
        Assert.Equal("for this socket", update.GetProperty("dialog").GetProperty("last_message_text").GetString());

        await ws.SendAsync("{not json");
        Assert.Equal("error", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task OperatorSocket_SubscribeWithoutIds_GetsAllDialogsAndResumes()
    {
        var token = await _server.LoginAsync();
        var a = await _server.OpenGuestDialogAsync("a");
        var start = (await _server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{a.DialogId}/poll?{a.Query}")).GetProperty("last_event_id").GetInt64();
        await _server.PostGuestMessageAsync(a, "missed while away");
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws?token={token}");
        await ws.ReceiveJsonAsync();
        await ws.SendAsync($"{{\"type\":\"subscribe\",\"last_event_id\":{start}}}");
        Assert.Equal("new_message", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        Assert.Equal("dialog_update", (await ws.ReceiveJsonAsync()).GetProperty("type").GetString());
        var ack = await ws.ReceiveJsonAsync();
        Assert.Equal("subscribed", ack.GetProperty("type").GetString());
        Assert.True(ack.GetProperty("all").GetBoolean());

        var b = await _server.OpenGuestDialogAsync("b", a.AssistantId);
        var created = await ws.ReceiveJsonAsync();
        Assert.Equal("dialog_update", created.GetProperty("type").GetString());
        Assert.True(created.GetProperty("created").GetBoolean());
        Assert.Equal(b.DialogId, created.GetProperty("dialog").GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task OperatorFeed_Sse_CarriesNewMessageAndDialogUpdateForEveryDialog()
    {
        var token = await _server.LoginAsync();
        await using var feed = await SseTestClient.ConnectAsync(_server.Client, $"/api/events/admin?token={token}");
        var g1 = await _server.OpenGuestDialogAsync("one");
        var g2 = await _server.OpenGuestDialogAsync("two", g1.AssistantId);
        await _server.PostGuestMessageAsync(g1, "from one");
        await _server.PostGuestMessageAsync(g2, "from two");
        var events = await feed.TakeAsync(6);
        Assert.Equal(["dialog_update", "dialog_update", "new_message", "dialog_update", "new_message", "dialog_update"], events.Select(e => e.EventType));
        Assert.Equal("from two", Text(JsonDocument.Parse(events[4].Data).RootElement));

        using var op = await _server.OperatorClientAsync();
        using var read = await op.PostAsync($"/api/dialogs/{g1.DialogId}/read", null);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        var cleared = await feed.NextAsync();
        Assert.Equal(0, JsonDocument.Parse(cleared.Data).RootElement.GetProperty("dialog").GetProperty("unread_count").GetInt64());
    }

    [Fact]
    public async Task OperatorFeed_RequiresOperator()
    {
        var guest = await _server.OpenGuestDialogAsync();
        using var response = await _server.Client.GetAsync($"/api/events/admin?{guest.Query}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static string Text(JsonElement e) => e.GetProperty("message").GetProperty("text").GetString()!;
}
