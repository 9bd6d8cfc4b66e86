namespace Herald.Server.Storage;

public sealed class WidgetTokenRecord
{
    public long Id { get; set; }
    public long AssistantId { get; set; }
    public string TokenHash { get; set; } = "";
    public string TokenHint { get; set; } = "";
    public string AllowedDomains { get; set; } = "[]";
    public long DomainsVersion { get; set; }
    public long CreatedAt { get; set; }
    public long? CreatedBy { get; set; }
    public long? RevokedAt { get; set; }
}
