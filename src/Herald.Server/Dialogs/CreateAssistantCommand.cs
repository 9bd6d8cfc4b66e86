using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

public sealed class CreateAssistantCommand(string name, long? operatorId) : WriteCommand<AssistantRecord>
{
    protected override Task<AssistantRecord> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        context.Connection.QuerySingleAsync<AssistantRecord>(
            "INSERT INTO assistants (name, operator_id, created_at) VALUES (@name, @operatorId, @now) RETURNING *",
            new { name, operatorId, now = context.NowMs }, context.Transaction);
}
