using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>An operator has read the dialog: its unread count goes to zero.</summary>
public sealed class MarkDialogReadCommand(long dialogId) : WriteCommand<DialogRecord>
{
    protected override async Task<DialogRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var dialog = await context.Connection.QuerySingleAsync<DialogRecord>(
            "UPDATE dialogs SET unread_count = 0 WHERE id = @dialogId RETURNING *", new { dialogId }, context.Transaction);
        DialogTopics.EmitDialogUpdate(context, dialog);
        return dialog;
    }
}
