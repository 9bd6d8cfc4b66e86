using Dapper;
using Herald.Protocol.Web;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>Replaces an assistant's domains; tokens issued before answer "domains changed" from now on.</summary>
public sealed class SetAssistantDomainsCommand(long assistantId, IReadOnlyList<string> domains) : WriteCommand<AssistantRecord?>
{
    protected override Task<AssistantRecord?> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        context.Connection.QuerySingleOrDefaultAsync<AssistantRecord>(
            "UPDATE assistants SET allowed_domains = @domains, domains_version = domains_version + 1 WHERE id = @assistantId RETURNING *",
            new { assistantId, domains = DomainRules.ToJson(domains) }, context.Transaction);
}
