using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>The topic a dialog's events go to; the Redis backplane maps it to seed 000's <c>ws:dialog:{id}</c>.</summary>
public static class DialogTopics
{
    public const string Prefix = "dialog:";

    public static string For(long dialogId) => Prefix + dialogId;

    /// <summary>
    /// The operators' feed: <c>new_message</c> and <c>dialog_update</c> for every dialog, keyed by dialog id,
    /// so a console needs one connection (<c>/api/events/admin</c>, <c>/ws</c>) instead of one per dialog.
    /// </summary>
    public const string OperatorFeed = "dialogs";

    /// <summary>Emits <c>dialog_update</c> for <paramref name="dialog"/> to the operators' feed (never for a probe's dialog).</summary>
    public static void EmitDialogUpdate(WriteContext context, DialogRecord dialog, bool created = false)
    {
        if (!dialog.IsProbe)
        {
            context.Emit(OperatorFeed, "dialog_update", ChatEventJson.DialogUpdate(dialog, created), dialog.Id);
        }
    }

    /// <summary>
    /// A dialog's status or assignee changed: <c>dialog_update</c> on the operators' feed (every console's list, on
    /// every node) and on the dialog's own topic (whoever follows just that dialog). It carries the assignee's id only,
    /// no operator's name or email: the dialog topic reaches the visitor too.
    /// </summary>
    public static void EmitDialogChange(WriteContext context, DialogRecord dialog)
    {
        EmitDialogUpdate(context, dialog);
        context.Emit(For(dialog.Id), "dialog_update", ChatEventJson.DialogUpdate(dialog, created: false));
    }
}
