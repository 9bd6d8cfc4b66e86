using Dapper;
using Herald.Protocol;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Sets the name visitors see on an operator's messages (<c>PUT /api/operators/me</c>, <c>herald users name</c>);
/// null goes back to the default. Messages already sent keep the name they were sent with.
/// </summary>
public sealed class SetOperatorDisplayNameCommand(long operatorId, string? displayName) : WriteCommand<OperatorRecord>
{
    protected override async Task<OperatorRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var updated = await context.Connection.QuerySingleOrDefaultAsync<OperatorRecord>(
            "UPDATE operators SET display_name = @displayName WHERE id = @operatorId RETURNING *", new { operatorId, displayName }, context.Transaction);
        return updated ?? throw new StoreValidationException(ErrorCodes.NotFound, $"Operator {operatorId} does not exist.");
    }
}
