using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

public sealed class RevokeWidgetTokenCommand(long tokenId) : WriteCommand<WidgetTokenRecord?>
{
    protected override Task<WidgetTokenRecord?> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        context.Connection.QuerySingleOrDefaultAsync<WidgetTokenRecord>(
            "UPDATE widget_tokens SET revoked_at = COALESCE(revoked_at, @now) WHERE id = @tokenId RETURNING *",
            new { tokenId, now = context.NowMs }, context.Transaction);
}
