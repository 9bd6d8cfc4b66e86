namespace Herald.Server.Storage;

// Rows as stored. Times are Unix milliseconds (UTC) in both SQLite and PostgreSQL, so the SQL is shared.

public sealed class OperatorRecord
{
    public long Id { get; set; }
    public string Email { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public long CreatedAt { get; set; }

    /// <summary>The name set for visitors to see, or null for the default (from the email's local part; Auth/OperatorAccountRules).</summary>
    public string? DisplayName { get; set; }
}
