using Dapper;
using Herald.Protocol;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Assigns a dialog to an operator, or unassigns it (null); announces it only when the assignee changed. An operator
/// that does not exist is <see cref="StoreValidationException"/> (<c>invalid_field</c>), checked in the writing
/// transaction so that a removal in between cannot leave a dangling assignee.
/// </summary>
public sealed class AssignDialogCommand(long dialogId, long? operatorId) : WriteCommand<DialogRecord>
{
    protected override async Task<DialogRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        if (operatorId is { } id && await context.Connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM operators WHERE id = @id", new { id }, context.Transaction) == 0)
        {
            throw new StoreValidationException(ErrorCodes.InvalidField, $"'operator_id': operator {id} does not exist.");
        }

        var dialog = await context.Connection.QuerySingleAsync<DialogRecord>("SELECT * FROM dialogs WHERE id = @dialogId", new { dialogId }, context.Transaction);
        if (dialog.AssigneeId == operatorId)
        {
            return dialog;
        }

        var changed = await context.Connection.QuerySingleAsync<DialogRecord>(
            "UPDATE dialogs SET assignee_id = @operatorId WHERE id = @dialogId RETURNING *", new { dialogId, operatorId }, context.Transaction);
        DialogTopics.EmitDialogChange(context, changed);
        return changed;
    }
}
