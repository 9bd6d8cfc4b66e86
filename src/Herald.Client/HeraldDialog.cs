using System.Text.Json.Serialization;

namespace Herald.Client;

/// <summary>A dialog between a guest and the operators of an assistant.</summary>
/// <param name="Id">The dialog id.</param>
/// <param name="AssistantId">The assistant (widget) it belongs to.</param>
/// <param name="GuestId">The guest's id, for widget dialogs.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="LastMessageAt">When the last message was posted, if any.</param>
/// <param name="LastMessageText">The last message's text, if any.</param>
/// <param name="LastMessageSender">The last message's sender, if any.</param>
/// <param name="UnreadCount">Guest messages operators have not read yet.</param>
public sealed record HeraldDialog(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("assistant_id")] long AssistantId,
    [property: JsonPropertyName("guest_id")] string? GuestId,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("last_message_at")] DateTimeOffset? LastMessageAt,
    [property: JsonPropertyName("last_message_text")] string? LastMessageText,
    [property: JsonPropertyName("last_message_sender")] string? LastMessageSender,
    [property: JsonPropertyName("unread_count")] long UnreadCount);
