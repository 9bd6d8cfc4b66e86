using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>Replaces what operators are told about where a dialog's visitor is. No event: the console reads it on opening the dialog.</summary>
public sealed class SetDialogVisitorCommand(long dialogId, string? pageUrl, string? referrer, string? userAgent) : WriteCommand<DialogVisitorRecord>
{
    protected override Task<DialogVisitorRecord> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        context.Connection.QuerySingleAsync<DialogVisitorRecord>(
            """
            INSERT INTO dialog_visitors (dialog_id, page_url, referrer, user_agent, updated_at) VALUES (@dialogId, @pageUrl, @referrer, @userAgent, @now)
            ON CONFLICT (dialog_id) DO UPDATE SET page_url = excluded.page_url, referrer = excluded.referrer, user_agent = excluded.user_agent,
                updated_at = excluded.updated_at
            RETURNING *
            """, new { dialogId, pageUrl, referrer, userAgent, now = context.NowMs }, context.Transaction);
}
