using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Returns the guest's dialog with the assistant, creating it on first contact.</summary>
public sealed class GetOrCreateGuestDialogCommand(long assistantId, string guestId) : WriteCommand<(DialogRecord Dialog, bool Created)>
{
    protected override async Task<(DialogRecord, bool)> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var created = await context.Connection.QuerySingleOrDefaultAsync<DialogRecord>(
            """
            INSERT INTO dialogs (assistant_id, guest_id, created_at) VALUES (@assistantId, @guestId, @now)
            ON CONFLICT (assistant_id, guest_id) DO NOTHING RETURNING *
            """, new { assistantId, guestId, now = context.NowMs }, context.Transaction);
        if (created is not null)
        {
            DialogTopics.EmitDialogUpdate(context, created, created: true);
            return (created, true);
        }

        var existing = await context.Connection.QuerySingleAsync<DialogRecord>(
            "SELECT * FROM dialogs WHERE assistant_id = @assistantId AND guest_id = @guestId", new { assistantId, guestId }, context.Transaction);
        return (existing, false);
    }
}
