using System.Text.Json.Serialization;

namespace Herald.Client;

/// <summary>A chat message, as the REST API returns it and as <c>message:new</c> events carry it.</summary>
/// <param name="Id">The message id (not the event id).</param>
/// <param name="DialogId">The dialog it belongs to.</param>
/// <param name="Sender"><c>user</c> (the guest) or <c>manager</c> (an operator).</param>
/// <param name="Text">The text.</param>
/// <param name="CreatedAt">When the server stored it.</param>
public sealed record HeraldMessage(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("dialog_id")] long DialogId,
    [property: JsonPropertyName("sender")] string Sender,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt);
