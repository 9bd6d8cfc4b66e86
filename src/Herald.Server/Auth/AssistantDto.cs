using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

public sealed record AssistantDto(long Id, string Name, string CreatedAt, IReadOnlyList<string> AllowedDomains, bool RequireVerifiedIdentity)
{
    public static AssistantDto From(AssistantRecord a) => new(a.Id, a.Name, HeraldJson.FormatTime(a.CreatedAt),
        DomainRules.Parse(a.AllowedDomains), a.RequireVerifiedIdentity != 0);
}
