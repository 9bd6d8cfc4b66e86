using Dapper;
using Herald.Protocol;
using Herald.Protocol.Web;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>Issues a widget token; the plain token is returned once and never stored.</summary>
public sealed class CreateWidgetTokenCommand(long assistantId, IReadOnlyList<string>? domains, long? operatorId, string plainToken)
    : WriteCommand<WidgetTokenRecord>
{
    protected override async Task<WidgetTokenRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var assistant = await context.Connection.QuerySingleOrDefaultAsync<AssistantRecord>(
            "SELECT * FROM assistants WHERE id = @assistantId", new { assistantId }, context.Transaction)
            ?? throw new StoreValidationException(ErrorCodes.NotFound, $"Assistant {assistantId} does not exist.");
        var allowed = domains ?? DomainRules.Parse(assistant.AllowedDomains);
        return await context.Connection.QuerySingleAsync<WidgetTokenRecord>(
            """
            INSERT INTO widget_tokens (assistant_id, token_hash, token_hint, allowed_domains, domains_version, created_at, created_by)
            VALUES (@assistantId, @hash, @hint, @domains, @version, @now, @operatorId) RETURNING *
            """,
            new
            {
                assistantId,
                hash = WidgetTokenService.Hash(plainToken),
                hint = "…" + plainToken[^4..],
                domains = DomainRules.ToJson(allowed),
                version = assistant.DomainsVersion,
                now = context.NowMs,
                operatorId,
            }, context.Transaction);
    }
}
