using Dapper;
using Herald.Protocol;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Replaces an operator's password hash (<c>herald users passwd</c>).</summary>
public sealed class SetOperatorPasswordCommand(string email, string passwordHash) : WriteCommand<OperatorRecord>
{
    protected override async Task<OperatorRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var updated = await context.Connection.QuerySingleOrDefaultAsync<OperatorRecord>(
            "UPDATE operators SET password_hash = @passwordHash WHERE email = @email RETURNING *",
            new { email, passwordHash }, context.Transaction);
        return updated ?? throw new StoreValidationException(ErrorCodes.NotFound, $"No operator has the email '{email}'.");
    }
}
