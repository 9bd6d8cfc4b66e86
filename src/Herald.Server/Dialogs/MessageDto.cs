using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

// The chat API's JSON shapes (snake_case on the wire through HeraldJson.Options).

public sealed record MessageDto(long Id, long DialogId, string Sender, string Text, string CreatedAt,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? ClientMessageId = null)
{
    public static MessageDto From(MessageRecord m) => new(m.Id, m.DialogId, m.Sender, m.Text, HeraldJson.FormatTime(m.CreatedAt), m.ClientMessageId);
}
