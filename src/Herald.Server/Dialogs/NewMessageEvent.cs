using System.Text.Json;
using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Operators' feed: a message was posted in a dialog.</summary>
public sealed record NewMessageEvent(long DialogId, MessageDto Message)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "new_message";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}
