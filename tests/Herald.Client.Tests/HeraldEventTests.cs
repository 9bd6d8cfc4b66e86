using System.Text.Json;

namespace Herald.Client.Tests;

public sealed class HeraldEventTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void MessageNew_MessageEvent_ReadsTheMessage()
    {
        var evt = new HeraldEvent(17, "message", "dialog:1",
            Json("""{"type":"message:new","message":{"id":5,"dialog_id":1,"sender":"user","text":"Hi","created_at":"2026-11-22T06:00:00.000Z"}}"""));

        Assert.Equal(new HeraldMessage(5, 1, "user", "Hi", new DateTimeOffset(2026, 11, 22, 6, 0, 0, TimeSpan.Zero)), evt.MessageNew);
        Assert.Equal("message:new", evt.Type);
        Assert.False(evt.IsReset);
        Assert.Null(evt.Reset);
        Assert.Null(evt.DialogUpdate);
        Assert.Equal("#17 message (message:new)", evt.ToString());
    }

    [Fact]
    public void MessageNew_OperatorFeedNewMessage_ReadsTheMessage()
    {
        var evt = new HeraldEvent(3, "new_message", "dialogs",
            Json("""{"type":"new_message","dialog_id":1,"message":{"id":5,"dialog_id":1,"sender":"manager","text":"Yes","created_at":"2026-11-22T06:00:00Z"}}"""));
        Assert.Equal("Yes", evt.MessageNew!.Text);
    }

    [Fact]
    public void Reset_ResetEvent_ReadsReasonAndPosition()
    {
        var evt = new HeraldEvent(120, "reset", null, Json("""{"reason":"history_trimmed","last_event_id":120}"""));
        Assert.True(evt.IsReset);
        Assert.Equal(new HeraldResetInfo("history_trimmed", 120), evt.Reset);
        Assert.Null(evt.MessageNew);
    }

    [Fact]
    public void DialogUpdate_ReadsTheDialog()
    {
        var evt = new HeraldEvent(9, "dialog_update", "dialogs", Json("""
            {"type":"dialog_update","dialog":{"id":1,"assistant_id":2,"guest_id":"g","created_at":"2026-11-22T06:00:00Z",
             "last_message_at":null,"last_message_text":null,"last_message_sender":null,"unread_count":0},"created":true}
            """));
        Assert.Equal(1, evt.DialogUpdate!.Id);
        Assert.Equal("g", evt.DialogUpdate.GuestId);
        Assert.Null(evt.DialogUpdate.LastMessageAt);
    }

    [Fact]
    public void Type_PayloadWithoutType_IsNull()
    {
        Assert.Null(new HeraldEvent(1, "progress", "t", Json("42")).Type);
        Assert.Null(new HeraldEvent(1, "progress", "t", Json("""{"pct":3}""")).MessageNew);
    }
}
