using System.Text.Json;
using Herald.Server.Api;

namespace Herald.Server.Dialogs;

/// <summary>Operators' feed: a message was posted in a dialog.</summary>
public sealed record NewMessageEvent(long DialogId, MessageDto Message)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "new_message";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}
