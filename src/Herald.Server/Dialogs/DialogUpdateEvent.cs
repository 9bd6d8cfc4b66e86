namespace Herald.Server.Dialogs;

/// <summary>
/// Operators' feed: a dialog was created or its summary (last message, unread count, status, assignee) changed; also on
/// the dialog's own topic when its status or assignee changed (<see cref="DialogTopics.EmitDialogChange"/>).
/// </summary>
// The shape and its names; ChatEventJson writes the bytes (ChatEventJsonTests holds them equal).
public sealed record DialogUpdateEvent(DialogDto Dialog, bool Created)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public string Type => "dialog_update";
}
