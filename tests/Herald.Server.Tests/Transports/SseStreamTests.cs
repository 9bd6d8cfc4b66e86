using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Transports;

public sealed class SseStreamTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
    {
        ["Herald:Streams:RetryMilliseconds"] = "5000",
        ["Herald:Streams:RetryJitterMilliseconds"] = "2000",
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Stream_GuestDialog_SendsSeedHeadersRetryAndMessageEvent()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");

        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", sse.Response.Headers.CacheControl!.ToString());
        Assert.Contains("no-transform", sse.Response.Headers.CacheControl!.ToString());
        Assert.Equal("no", sse.Response.Headers.GetValues("X-Accel-Buffering").Single());

        var posted = await _server.PostGuestMessageAsync(guest, "Тестовое сообщение");
        var item = await sse.NextAsync();

        Assert.Equal("message", item.EventType);
        Assert.True(long.Parse(item.EventId!) > 0);
        using var data = JsonDocument.Parse(item.Data);
        Assert.Equal("message:new", data.RootElement.GetProperty("type").GetString());
        var message = data.RootElement.GetProperty("message");
        Assert.Equal(posted.GetProperty("id").GetInt64(), message.GetProperty("id").GetInt64());
        Assert.Equal(guest.DialogId, message.GetProperty("dialog_id").GetInt64());
        Assert.Equal("user", message.GetProperty("sender").GetString());
        Assert.Equal("Тестовое сообщение", message.GetProperty("text").GetString());
        Assert.True(DateTimeOffset.TryParse(message.GetProperty("created_at").GetString(), out _));
        Assert.StartsWith("{\"type\":\"message:new\"", item.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_RawBytes_StartWithJitteredRetryThenHeartbeat()
    {
        var guest = await _server.OpenGuestDialogAsync();
        using var response = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/events?{guest.Query}", HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Matches("^retry: [0-9]+$", first);
        var retry = int.Parse(first!["retry: ".Length..]);
        Assert.InRange(retry, 5000, 7000);
        Assert.Equal("", await reader.ReadLineAsync());
        Assert.Equal(": heartbeat", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Stream_RetryValues_DifferBetweenConnections()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var values = new HashSet<string>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/events?{guest.Query}", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            values.Add((await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5)))!);
        }

        Assert.True(values.Count > 1, "every connection got the same retry value; a restart would bring them all back at once");
    }

    [Fact]
    public async Task Post_OneRequest_GivesExactlyOneEvent()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await _server.PostGuestMessageAsync(guest, "one");
        await sse.NextAsync();
        Assert.True(await sse.IsQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Resume_WithLastEventIdWhilePublishing_HasNoGapAndNoDuplicate()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var first = new List<string>();
        await using (var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}"))
        {
            for (var i = 0; i < 5; i++)
            {
                await _server.PostGuestMessageAsync(guest, $"m{i}");
            }

            first.AddRange((await sse.TakeAsync(5)).Select(e => e.EventId!));
        }

        // While the client is away and while it resumes, messages keep coming.
        var publisher = Task.Run(async () =>
        {
            for (var i = 5; i < 60; i++)
            {
                await _server.PostGuestMessageAsync(guest, $"m{i}");
            }
        });
        await Task.Delay(20);
        await using var resumed = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", lastEventId: first[^1]);
        await publisher;
        var rest = await resumed.TakeAsync(55);

        var texts = rest.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("message").GetProperty("text").GetString()).ToList();
        Assert.Equal(Enumerable.Range(5, 55).Select(i => $"m{i}"), texts);
        var ids = first.Concat(rest.Select(e => e.EventId!)).Select(long.Parse).ToList();
        Assert.Equal(ids.OrderBy(i => i), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(await resumed.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Resume_EventAtOrBelowLastEventIdArrivingLate_IsNotSentAgain()
    {
        // Two nodes: the client had event N from node A, reconnects to node B with Last-Event-ID N while N is still on
        // its way to B through the backplane. B must not send N again. Here the late arrival is handed to the hub directly.
        var guest = await _server.OpenGuestDialogAsync();
        var posted = await _server.PostGuestMessageAsync(guest, "already seen");
        string seenId;
        await using (var first = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}&last_event_id=0"))
        {
            seenId = (await first.NextAsync()).EventId!;
        }

        await using var resumed = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", lastEventId: seenId);
        var late = new HubEvent(long.Parse(seenId), Herald.Server.Dialogs.DialogTopics.For(guest.DialogId), "message",
            JsonSerializer.SerializeToUtf8Bytes(new { type = "message:new", message = new { id = posted.GetProperty("id").GetInt64(), text = "already seen" } }), 0);
        Assert.Equal(1, _server.GetService<TopicRegistry>().Publish(late));
        await _server.PostGuestMessageAsync(guest, "new");

        var next = await resumed.NextAsync();
        Assert.Equal("new", JsonDocument.Parse(next.Data).RootElement.GetProperty("message").GetProperty("text").GetString());
        Assert.True(long.Parse(next.EventId!) > long.Parse(seenId));
    }

    [Fact]
    public async Task Resume_WithQueryParameter_ReplaysMissedEvents()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var a = await _server.PostGuestMessageAsync(guest, "a");
        await _server.PostGuestMessageAsync(guest, "b");
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}&last_event_id=0");
        var events = await sse.TakeAsync(2);
        Assert.Equal(["a", "b"], events.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("message").GetProperty("text").GetString()));
        Assert.Equal(a.GetProperty("id").GetInt64(), JsonDocument.Parse(events[0].Data).RootElement.GetProperty("message").GetProperty("id").GetInt64());
    }

    [Theory]
    [InlineData("999999")]
    [InlineData("not-a-number")]
    public async Task Resume_FromUnknownPosition_SendsResetWithCurrentHead(string lastEventId)
    {
        var guest = await _server.OpenGuestDialogAsync();
        await _server.PostGuestMessageAsync(guest, "before");
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", lastEventId);
        var reset = await sse.NextAsync();
        Assert.Equal("reset", reset.EventType);
        var head = await _server.GetService<SqlStore>().GetLastEventIdAsync();
        Assert.Equal(head.ToString(), reset.EventId);
        Assert.Equal("unknown_position", JsonDocument.Parse(reset.Data).RootElement.GetProperty("reason").GetString());

        await _server.PostGuestMessageAsync(guest, "after");
        var live = await sse.NextAsync();
        Assert.Equal("message", live.EventType);
        Assert.True(long.Parse(live.EventId!) > head);
    }

    [Fact]
    public async Task Resume_BelowRetentionHorizon_SendsReset()
    {
        var guest = await _server.OpenGuestDialogAsync();
        for (var i = 0; i < 5; i++)
        {
            await _server.PostGuestMessageAsync(guest, $"m{i}");
        }

        var store = _server.GetService<SqlStore>();
        // Keep 2 per topic, age cut-off in the future: the 3 oldest of this dialog go.
        var removed = await store.TrimEventsAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), 2);
        Assert.True(removed >= 3);

        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", "1");
        var reset = await sse.NextAsync();
        Assert.Equal("reset", reset.EventType);
        Assert.Equal("history_trimmed", JsonDocument.Parse(reset.Data).RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Stream_OperatorToken_ReceivesGuestMessages()
    {
        var guest = await _server.OpenGuestDialogAsync();
        var token = await _server.LoginAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?token={token}");
        await _server.PostGuestMessageAsync(guest, "hello operator");
        var item = await sse.NextAsync();
        Assert.Contains("hello operator", item.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_Credentials_AreChecked()
    {
        var guest = await _server.OpenGuestDialogAsync("owner");
        var other = await _server.OpenGuestDialogAsync("intruder", guest.AssistantId);
        var token = await _server.LoginAsync();

        await AssertError(HttpStatusCode.Unauthorized, $"/api/dialogs/{guest.DialogId}/events");
        await AssertError(HttpStatusCode.Unauthorized, $"/api/dialogs/{guest.DialogId}/events?token=forged.token.value");
        await AssertError(HttpStatusCode.Forbidden, $"/api/dialogs/{guest.DialogId}/events?{other.Query}");
        // A guest cannot tell a missing dialog from a foreign one.
        await AssertError(HttpStatusCode.Forbidden, $"/api/dialogs/987654/events?{guest.Query}");
        await AssertError(HttpStatusCode.NotFound, $"/api/dialogs/987654/events?token={token}");
        await AssertError(HttpStatusCode.BadRequest, $"/api/dialogs/abc/events?token={token}");
    }

    [Fact]
    public async Task Typing_IsDeliveredWithoutIdAndNeverReplayed()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        using (var r = await _server.Client.PostAsync($"/api/widget/dialogs/{guest.DialogId}/typing?{guest.Query}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        }

        var typing = await sse.NextAsync();
        Assert.Equal("typing", typing.EventType);
        Assert.True(string.IsNullOrEmpty(typing.EventId));

        await using var replay = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", "0");
        Assert.True(await replay.IsQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task GenericTopics_OneStreamForSeveralTopics_InIdOrder()
    {
        using var op = await _server.OperatorClientAsync();
        var token = await _server.LoginAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/events?topic=alpha&topic=beta&token={token}");
        for (var i = 0; i < 10; i++)
        {
            using var r = await op.PostAsJsonAsync("/api/publish", new { topic = i % 2 == 0 ? "alpha" : "beta", @event = "progress", data = new { step = i } });
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }

        using (var r = await op.PostAsJsonAsync("/api/publish", new { topic = "gamma", data = 1 }))
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }

        var events = await sse.TakeAsync(10);
        Assert.All(events, e => Assert.Equal("progress", e.EventType));
        Assert.Equal(Enumerable.Range(0, 10), events.Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("step").GetInt32()));
        Assert.True(await sse.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "an event of an unsubscribed topic arrived");
    }

    [Fact]
    public async Task Health_AndStats_ReportConnections()
    {
        var guest = await _server.OpenGuestDialogAsync();
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await _server.PostGuestMessageAsync(guest, "x");
        await sse.NextAsync();

        var health = await _server.Client.GetFromJsonAsync<JsonElement>("/api/sse/health");
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("disabled", health.GetProperty("redis").GetString());
        Assert.True(health.GetProperty("connections").GetInt32() >= 1);

        // Topic names are for operators (and service keys); the counts are public.
        using var op = await _server.OperatorClientAsync();
        var stats = await op.GetFromJsonAsync<JsonElement>("/api/sse/stats");
        Assert.True(stats.GetProperty("active_connections").GetInt32() >= 1);
        Assert.True(stats.GetProperty("events_sent").GetInt64() >= 1);
        var details = stats.GetProperty("connection_details");
        Assert.True(details.GetProperty("by_transport").GetProperty("sse").GetInt64() >= 1);
        Assert.Equal(1, details.GetProperty("by_topic").GetProperty($"dialog:{guest.DialogId}").GetInt32());
    }

    private async Task AssertError(HttpStatusCode expected, string url)
    {
        using var response = await _server.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(expected, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetString()));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("detail").GetString()));
    }
}
