using Dapper;
using Herald.Protocol;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Removes an operator (<c>herald users remove</c>). What they owned stays: assistants they created lose the link to
/// them, not their dialogs; dialogs assigned to them become unassigned.
/// </summary>
public sealed class RemoveOperatorCommand(string email) : WriteCommand<OperatorRecord>
{
    protected override async Task<OperatorRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var found = await context.Connection.QuerySingleOrDefaultAsync<OperatorRecord>(
            "SELECT * FROM operators WHERE email = @email", new { email }, context.Transaction)
            ?? throw new StoreValidationException(ErrorCodes.NotFound, $"No operator has the email '{email}'.");
        await context.Connection.ExecuteAsync("UPDATE assistants SET operator_id = NULL WHERE operator_id = @id", new { id = found.Id }, context.Transaction);
        // Their dialogs go back to the team, unassigned. No event: this runs from `herald users` without a node; a
        // console sees it on its next list load.
        await context.Connection.ExecuteAsync("UPDATE dialogs SET assignee_id = NULL WHERE assignee_id = @id", new { id = found.Id }, context.Transaction);
        await context.Connection.ExecuteAsync("DELETE FROM operators WHERE id = @id", new { id = found.Id }, context.Transaction);
        return found;
    }
}
