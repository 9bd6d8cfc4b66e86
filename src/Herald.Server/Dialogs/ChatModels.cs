using System.Text.Json;
using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

// The chat API's JSON shapes (snake_case on the wire through HeraldJson.Options).

public sealed record MessageDto(long Id, long DialogId, string Sender, string Text, string CreatedAt,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? ClientMessageId = null)
{
    public static MessageDto From(MessageRecord m) => new(m.Id, m.DialogId, m.Sender, m.Text, HeraldJson.FormatTime(m.CreatedAt), m.ClientMessageId);
}

public sealed record DialogDto(long Id, long AssistantId, string? GuestId, string CreatedAt, string? LastMessageAt, string? LastMessageText,
    string? LastMessageSender, long UnreadCount)
{
    public static DialogDto From(DialogRecord d) => new(d.Id, d.AssistantId, d.GuestId, HeraldJson.FormatTime(d.CreatedAt),
        d.LastMessageAt is { } at ? HeraldJson.FormatTime(at) : null, d.LastMessageText, d.LastMessageSender, d.UnreadCount);
}

/// <summary>The event seed 000's clients parse: <c>{"type":"message:new","message":{...}}</c>.</summary>
public sealed record MessageNewEvent(MessageDto Message)
{
    // "type" first, as seed 000 shows it and as clients that sniff the prefix expect.
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "message:new";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}

/// <summary>Operators' feed: a message was posted in a dialog.</summary>
public sealed record NewMessageEvent(long DialogId, MessageDto Message)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "new_message";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}

/// <summary>Operators' feed: a dialog was created or its summary (last message, unread count) changed.</summary>
public sealed record DialogUpdateEvent(DialogDto Dialog, bool Created)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "dialog_update";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}

public sealed record PostMessageRequest(string? Sender, string? Text, string? ClientMessageId);

public sealed record CreateAssistantRequest(string? Name);
