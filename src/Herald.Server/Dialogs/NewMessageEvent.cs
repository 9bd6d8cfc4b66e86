namespace Herald.Server.Dialogs;

/// <summary>Operators' feed: a message was posted in a dialog.</summary>
// The shape and its names; ChatEventJson writes the bytes (ChatEventJsonTests holds them equal).
public sealed record NewMessageEvent(long DialogId, MessageDto Message)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "new_message";
}
