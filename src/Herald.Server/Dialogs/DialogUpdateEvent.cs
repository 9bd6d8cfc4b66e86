namespace Herald.Server.Dialogs;

/// <summary>Operators' feed: a dialog was created or its summary (last message, unread count) changed.</summary>
// The shape and its names; ChatEventJson writes the bytes (ChatEventJsonTests holds them equal).
public sealed record DialogUpdateEvent(DialogDto Dialog, bool Created)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "dialog_update";
}
