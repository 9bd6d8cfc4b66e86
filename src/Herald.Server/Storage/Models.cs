using Herald.Protocol.Web;

namespace Herald.Server.Storage;

// Rows as stored. Times are Unix milliseconds (UTC) in both SQLite and PostgreSQL, so the SQL is shared.

public sealed class OperatorRecord
{
    public long Id { get; set; }
    public string Email { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public long CreatedAt { get; set; }
}

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

public sealed class DialogRecord
{
    public long Id { get; set; }
    public long AssistantId { get; set; }
    public string? GuestId { get; set; }
    public long CreatedAt { get; set; }
    public long? LastMessageAt { get; set; }
    public string? LastMessageText { get; set; }
    public string? LastMessageSender { get; set; }
    public long UnreadCount { get; set; }
}

public sealed class MessageRecord
{
    public long Id { get; set; }
    public long DialogId { get; set; }
    public string Sender { get; set; } = "";
    public string Text { get; set; } = "";
    public long CreatedAt { get; set; }
    public string? ClientMessageId { get; set; }
}

public sealed class EventRecord
{
    public long Id { get; set; }
    public string Topic { get; set; } = "";
    public string Type { get; set; } = "";
    public string Data { get; set; } = "";
    public long CreatedAt { get; set; }
    public long EventKey { get; set; }
}
