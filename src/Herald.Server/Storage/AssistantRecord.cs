namespace Herald.Server.Storage;

public sealed class AssistantRecord
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public long? OperatorId { get; set; }
    public long CreatedAt { get; set; }

    /// <summary>JSON array of domain patterns (see <c>Herald.Protocol.Web.DomainRules</c>).</summary>
    public string AllowedDomains { get; set; } = "[]";
    public long DomainsVersion { get; set; } = 1;
    public long RequireVerifiedIdentity { get; set; }

    /// <summary>HMAC key for <c>identifier_hash</c>; the site's backend holds a copy.</summary>
    public string? IdentitySecret { get; set; }
}
