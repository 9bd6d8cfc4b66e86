namespace Herald.Server.Dialogs;

/// <summary>The event seed 000's clients parse: <c>{"type":"message:new","message":{...}}</c>.</summary>
// The shape and its names; ChatEventJson writes the bytes (ChatEventJsonTests holds them equal).
public sealed record MessageNewEvent(MessageDto Message)
{
    // "type" first, as seed 000 shows it and as clients that sniff the prefix expect.
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "message:new";
}
