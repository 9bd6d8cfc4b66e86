using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Resolves or reopens a dialog; announces it (<see cref="DialogTopics.EmitDialogChange"/>) only when the status changed.</summary>
public sealed class SetDialogStatusCommand(long dialogId, string status) : WriteCommand<DialogRecord>
{
    protected override async Task<DialogRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var changed = await context.Connection.QuerySingleOrDefaultAsync<DialogRecord>(
            "UPDATE dialogs SET status = @status WHERE id = @dialogId AND status <> @status RETURNING *", new { dialogId, status }, context.Transaction);
        if (changed is null)
        {
            return await context.Connection.QuerySingleAsync<DialogRecord>("SELECT * FROM dialogs WHERE id = @dialogId", new { dialogId }, context.Transaction);
        }

        DialogTopics.EmitDialogChange(context, changed);
        return changed;
    }
}
