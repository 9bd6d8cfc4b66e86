using System.Text.Json;
using Herald.Server.Api;

namespace Herald.Server.Dialogs;

/// <summary>The event seed 000's clients parse: <c>{"type":"message:new","message":{...}}</c>.</summary>
public sealed record MessageNewEvent(MessageDto Message)
{
    // "type" first, as seed 000 shows it and as clients that sniff the prefix expect.
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "message:new";

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, HeraldJson.Options);
}
