using Dapper;
using Herald.Protocol;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

public sealed class CreateOperatorCommand(string email, string passwordHash, string? displayName = null) : WriteCommand<OperatorRecord>
{
    protected override async Task<OperatorRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var created = await context.Connection.QuerySingleOrDefaultAsync<OperatorRecord>(
            "INSERT INTO operators (email, password_hash, created_at, display_name) VALUES (@email, @passwordHash, @now, @displayName) ON CONFLICT (email) DO NOTHING RETURNING *",
            new { email, passwordHash, now = context.NowMs, displayName }, context.Transaction);
        return created ?? throw new StoreValidationException(ErrorCodes.Conflict, $"An operator with email '{email}' already exists.");
    }
}
