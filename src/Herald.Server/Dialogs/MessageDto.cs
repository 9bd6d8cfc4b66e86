using System.Text.Json.Serialization;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

// The chat API's JSON shapes (snake_case on the wire through HeraldJson.Options).

/// <summary>A message; an operator's carries <c>author_id</c> and <c>author_name</c> (their display name then, never their email).</summary>
public sealed record MessageDto(long Id, long DialogId, string Sender, string Text, string CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientMessageId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? AuthorId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AuthorName = null)
{
    public static MessageDto From(MessageRecord m) =>
        new(m.Id, m.DialogId, m.Sender, m.Text, HeraldJson.FormatTime(m.CreatedAt), m.ClientMessageId, m.AuthorId, m.AuthorName);
}
