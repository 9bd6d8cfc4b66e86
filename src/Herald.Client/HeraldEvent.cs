using System.Text.Json;
using Herald.Client.Internal;

namespace Herald.Client;

/// <summary>
/// One event from a Herald stream: its id (durable events), SSE event name, topic and JSON payload, with helpers
/// for the payloads the chat API sends.
/// </summary>
public sealed class HeraldEvent
{
    /// <summary>Creates an event (for tests and adapters; subscriptions create them for you).</summary>
    /// <param name="id">The event id, or null for an ephemeral event.</param>
    /// <param name="eventName">The SSE event name (<c>message</c>, <c>typing</c>, <c>reset</c>, ...).</param>
    /// <param name="topic">The topic, when known.</param>
    /// <param name="data">The payload.</param>
    public HeraldEvent(long? id, string eventName, string? topic, JsonElement data)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        Id = id;
        Event = eventName;
        Topic = topic;
        Data = data;
    }

    /// <summary>The global event id; null for ephemeral events (typing), which are never replayed.</summary>
    public long? Id { get; }

    /// <summary>The SSE event name: <c>message</c>, <c>typing</c>, <c>reset</c>, <c>new_message</c>, <c>dialog_update</c>, or a publisher's name.</summary>
    public string Event { get; }

    /// <summary>
    /// The topic (<c>dialog:42</c>, <c>notifications</c>) when the subscription names exactly one; null on a stream
    /// of several topics, where SSE does not say which one an event came from.
    /// </summary>
    public string? Topic { get; }

    /// <summary>The payload (the SSE <c>data</c>); a JSON string when the server sent text that is not JSON.</summary>
    public JsonElement Data { get; }

    /// <summary>The payload's <c>type</c> field (<c>message:new</c>, <c>typing</c>, ...) when it has one.</summary>
    public string? Type => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
        ? t.GetString()
        : null;

    /// <summary>True for a <c>reset</c>: reload history (see <see cref="Reset"/>); the stream continues after it.</summary>
    public bool IsReset => Event == "reset";

    /// <summary>
    /// The message of a <c>message:new</c> event (dialog streams) or a <c>new_message</c> event (operators' feed);
    /// null for any other event.
    /// </summary>
    public HeraldMessage? MessageNew =>
        Type is "message:new" or "new_message" && Data.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object
            ? m.Deserialize(ClientJsonContext.Default.HeraldMessage)
            : null;

    /// <summary>The dialog of a <c>dialog_update</c> event (operators' feed); null for any other event.</summary>
    public HeraldDialog? DialogUpdate =>
        Type == "dialog_update" && Data.TryGetProperty("dialog", out var d) && d.ValueKind == JsonValueKind.Object
            ? d.Deserialize(ClientJsonContext.Default.HeraldDialog)
            : null;

    /// <summary>The reason and new position of a <c>reset</c>; null for any other event.</summary>
    public HeraldResetInfo? Reset => IsReset && Data.ValueKind == JsonValueKind.Object ? Data.Deserialize(ClientJsonContext.Default.HeraldResetInfo) : null;

    /// <summary>For logs: <c>#17 message (message:new)</c>.</summary>
    public override string ToString() => $"{(Id is { } id ? "#" + id : "(no id)")} {Event}{(Type is { } t && t != Event ? $" ({t})" : "")}";
}
