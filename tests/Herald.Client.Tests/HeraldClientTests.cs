using System.Net;
using System.Text.Json;
using Herald.Client.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Client.Tests;

/// <summary>The client against a real Herald node: subscriptions, helpers and refusals.</summary>
public sealed class HeraldClientTests(NodeFixture fixture) : IClassFixture<NodeFixture>, IDisposable
{
    private readonly HeraldClient _client = new(fixture.Node.BaseAddress);

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// Starts a subscription and returns once its stream is connected. A subscription is lazy (nothing happens until
    /// it is enumerated) and starts "from now" when it connects, so a message posted earlier is history, not stream.
    /// </summary>
    private async Task<EventReader> SubscribeAsync(Func<HeraldClient, CancellationToken, IAsyncEnumerable<HeraldEvent>> subscribe)
    {
        var logger = new SignalLogger();
        var client = new HeraldClient(fixture.Node.BaseAddress, new HeraldClientOptions { Logger = logger });
        var reader = new EventReader(ct => subscribe(client, ct), client);
        await logger.WaitForAsync(1, TimeSpan.FromSeconds(10));
        return reader;
    }

    private async Task<(GuestCredentials Guest, HeraldDialog Dialog)> NewGuestAsync()
    {
        var guest = HeraldCredentials.Guest(fixture.AssistantId, "g-" + Guid.NewGuid().ToString("N")[..12]);
        return (guest, await _client.OpenGuestDialogAsync(guest));
    }

    [Fact]
    public async Task SubscribeDialogAsync_Guest_ReceivesMessagesInOrderOnce()
    {
        var (guest, dialog) = await NewGuestAsync();
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct));

        var posted = new List<HeraldMessage>();
        for (var i = 0; i < 5; i++)
        {
            posted.Add(await _client.PostGuestMessageAsync(dialog.Id, guest, $"hello {i}"));
        }

        var received = await events.MessagesAsync(5);
        Assert.Equal(posted, received.Select(e => e.MessageNew!));
        Assert.All(received, e =>
        {
            Assert.Equal("message", e.Event);
            Assert.Equal("message:new", e.Type);
            Assert.Equal($"dialog:{dialog.Id}", e.Topic);
            Assert.Equal("user", e.MessageNew!.Sender);
        });
        var ids = received.Select(e => e.Id!.Value).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task SubscribeDialogAsync_Operator_SeesGuestAndOperatorMessages()
    {
        var (guest, dialog) = await NewGuestAsync();
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeDialogAsync(dialog.Id, fixture.Operator, cancellationToken: ct));

        await _client.PostGuestMessageAsync(dialog.Id, guest, "question");
        var answer = await _client.PostOperatorMessageAsync(dialog.Id, fixture.Operator, "answer");

        var received = await events.MessagesAsync(2);
        Assert.Equal(["user", "manager"], received.Select(e => e.MessageNew!.Sender));
        Assert.Equal(answer, received[1].MessageNew);
    }

    [Fact]
    public async Task SubscribeDialogAsync_Typing_HasNoIdAndDoesNotHideTheNextMessage()
    {
        var (guest, dialog) = await NewGuestAsync();
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeDialogAsync(dialog.Id, fixture.Operator, cancellationToken: ct));
        using var http = new HttpClient { BaseAddress = fixture.Node.BaseAddress };

        // Typing arrives between two durable events.
        await _client.PostGuestMessageAsync(dialog.Id, guest, "first");
        var first = await events.NextAsync();
        using (var typing = await http.PostAsync($"api/widget/dialogs/{dialog.Id}/typing?assistant_id={guest.AssistantId}&guest_id={guest.GuestId}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, typing.StatusCode);
        }

        var typingEvent = await events.NextAsync();
        await _client.PostGuestMessageAsync(dialog.Id, guest, "second");
        var second = await events.NextAsync();

        Assert.Equal("typing", typingEvent.Event);
        Assert.Null(typingEvent.Id); // not the previous event's id, as a spec "last event ID buffer" would give
        Assert.Null(typingEvent.MessageNew);
        Assert.Equal("second", second.MessageNew!.Text);
        Assert.True(second.Id > first.Id);
    }

    [Fact]
    public async Task SubscribeDialogAsync_FromLastEventId_ReplaysWhatWasMissed()
    {
        var (guest, dialog) = await NewGuestAsync();
        long start;
        await using (var events = await SubscribeAsync((c, ct) => c.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct)))
        {
            await _client.PostGuestMessageAsync(dialog.Id, guest, "seen");
            start = (await events.NextAsync()).Id!.Value;
        }

        await _client.PostGuestMessageAsync(dialog.Id, guest, "missed 1");
        await _client.PostGuestMessageAsync(dialog.Id, guest, "missed 2");
        await using var resumed = new EventReader(ct => _client.SubscribeDialogAsync(dialog.Id, guest, start, ct));
        var replayed = await resumed.MessagesAsync(2);
        Assert.Equal(["missed 1", "missed 2"], replayed.Select(e => e.MessageNew!.Text));
        Assert.True(await resumed.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "the resumed stream repeated an event");
    }

    [Fact]
    public async Task SubscribeDialogAsync_UnknownPosition_YieldsResetThenContinues()
    {
        var (guest, dialog) = await NewGuestAsync();
        await using var events = new EventReader(ct => _client.SubscribeDialogAsync(dialog.Id, guest, lastEventId: 1_000_000_000_000, ct));

        var reset = await events.NextAsync();
        Assert.True(reset.IsReset);
        Assert.Equal("unknown_position", reset.Reset!.Reason);
        Assert.Equal(reset.Id, reset.Reset.LastEventId);

        // After the reset the app reloads history, then live events continue from the new position.
        var history = await _client.GetMessagesAsync(dialog.Id, guest);
        Assert.Empty(history);
        await _client.PostGuestMessageAsync(dialog.Id, guest, "after reset");
        var next = await events.NextAsync();
        Assert.Equal("after reset", next.MessageNew!.Text);
        Assert.True(next.Id > reset.Id);
    }

    [Fact]
    public async Task SubscribeDialogAsync_AnotherGuestsDialog_ThrowsForbidden()
    {
        var (_, dialog) = await NewGuestAsync();
        var intruder = HeraldCredentials.Guest(fixture.AssistantId, "intruder");
        await using var events = new EventReader(ct => _client.SubscribeDialogAsync(dialog.Id, intruder, cancellationToken: ct));

        var error = await Assert.ThrowsAsync<HeraldException>(() => events.NextAsync());
        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Equal("forbidden", error.ErrorCode);
    }

    [Fact]
    public async Task SubscribeDialogAsync_InvalidToken_ThrowsUnauthorized()
    {
        var (_, dialog) = await NewGuestAsync();
        await using var events = new EventReader(ct => _client.SubscribeDialogAsync(dialog.Id, HeraldCredentials.Operator("not-a-jwt"), cancellationToken: ct));

        var error = await Assert.ThrowsAsync<HeraldException>(() => events.NextAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Equal("unauthorized", error.ErrorCode);
    }

    [Fact]
    public async Task SubscribeTopicsAsync_PublishedEvents_ArriveWithTheirTopic()
    {
        var topic = "jobs." + Guid.NewGuid().ToString("N")[..8];
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeTopicsAsync([topic], fixture.Operator, cancellationToken: ct));
        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await _client.PublishAsync(topic, "progress", JsonSerializer.SerializeToElement(new { pct = i * 50 }), fixture.Operator));
        }

        var received = new List<HeraldEvent>();
        for (var i = 0; i < 3; i++)
        {
            received.Add(await events.NextAsync());
        }

        Assert.Equal(ids, received.Select(e => e.Id!.Value));
        Assert.All(received, e => Assert.Equal(topic, e.Topic));
        Assert.Equal([0, 50, 100], received.Select(e => e.Data.GetProperty("pct").GetInt32()));
        Assert.All(received, e => Assert.Equal("progress", e.Event));
    }

    [Fact]
    public void SubscribeTopicsAsync_InvalidTopic_ThrowsBeforeConnecting()
    {
        Assert.Throws<ArgumentException>(() => _client.SubscribeTopicsAsync(["bad topic\n"], fixture.Operator));
        Assert.Throws<ArgumentException>(() => _client.SubscribeTopicsAsync([], fixture.Operator));
    }

    [Fact]
    public async Task SubscribeOperatorFeedAsync_GuestMessage_GivesNewMessageAndDialogUpdate()
    {
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeOperatorFeedAsync(fixture.Operator, cancellationToken: ct));
        var (guest, dialog) = await NewGuestAsync();

        await _client.PostGuestMessageAsync(dialog.Id, guest, "for the console");

        var message = await events.NextAsync(e => e.Event == "new_message");
        Assert.Equal("for the console", message.MessageNew!.Text);
        Assert.Equal(dialog.Id, message.Data.GetProperty("dialog_id").GetInt64());
        var update = await events.NextAsync(e => e.Event == "dialog_update" && e.DialogUpdate!.LastMessageText == "for the console");
        Assert.Equal(dialog.Id, update.DialogUpdate!.Id);
        Assert.True(update.DialogUpdate.UnreadCount >= 1);
    }

    [Fact]
    public async Task LoginAsync_WrongPassword_ThrowsInvalidCredentials()
    {
        var error = await Assert.ThrowsAsync<HeraldException>(() => _client.LoginAsync(HeraldTestNode.AdminEmail, "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.Equal("invalid_credentials", error.ErrorCode);

        var login = await _client.LoginAsync(HeraldTestNode.AdminEmail, HeraldTestNode.AdminPassword);
        Assert.Equal("bearer", login.TokenType);
        Assert.DoesNotContain(login.AccessToken, login.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenGuestDialogAsync_SameGuest_ReturnsSameDialogWithHistory()
    {
        var (guest, dialog) = await NewGuestAsync();
        await _client.PostGuestMessageAsync(dialog.Id, guest, "one");
        var two = await _client.PostGuestMessageAsync(dialog.Id, guest, "two");

        var again = await _client.OpenGuestDialogAsync(guest);
        var history = await _client.GetMessagesAsync(dialog.Id, guest);
        var newer = await _client.GetMessagesAsync(dialog.Id, fixture.Operator, afterId: history[0].Id);

        Assert.Equal(dialog.Id, again.Id);
        Assert.Equal(["one", "two"], history.Select(m => m.Text));
        Assert.Equal([two], newer);
    }

    [Fact]
    public async Task PostGuestMessageAsync_SameClientMessageId_StoresAndBroadcastsOnce()
    {
        var (guest, dialog) = await NewGuestAsync();
        await using var events = await SubscribeAsync((c, ct) => c.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct));

        var first = await _client.PostGuestMessageAsync(dialog.Id, guest, "once", clientMessageId: "retry-me");
        var retried = await _client.PostGuestMessageAsync(dialog.Id, guest, "once", clientMessageId: "retry-me");
        await _client.PostGuestMessageAsync(dialog.Id, guest, "next");

        Assert.Equal(first.Id, retried.Id);
        var received = await events.MessagesAsync(2);
        Assert.Equal(["once", "next"], received.Select(e => e.MessageNew!.Text));
        Assert.Equal(2, (await _client.GetMessagesAsync(dialog.Id, guest)).Count);
    }

    [Fact]
    public async Task PostGuestMessageAsync_TooLong_ThrowsWithServerErrorCode()
    {
        var (guest, dialog) = await NewGuestAsync();
        var error = await Assert.ThrowsAsync<HeraldException>(() => _client.PostGuestMessageAsync(dialog.Id, guest, new string('x', 4001)));
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal("text_too_long", error.ErrorCode);
    }
}
