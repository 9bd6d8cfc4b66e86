namespace Herald.Server;

public sealed class AuthOptions
{
    /// <summary>HS256 key for operator JWTs; at least 32 bytes. Every node must share it.</summary>
    public string? SigningKey { get; set; }
    public string Issuer { get; set; } = "herald";
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);
    /// <summary>Optional keys for <c>POST /api/publish</c> from services (header <c>X-Api-Key</c>).</summary>
    public string[] ApiKeys { get; set; } = [];
    /// <summary>
    /// Lets service keys read the chat topics (<c>dialog:{id}</c>, <c>dialogs</c>) over <c>/api/events</c> and
    /// <c>/api/poll</c>, e.g. for an archive or analytics backend. Off: a key reaches generic topics only. Publishing
    /// to a chat topic stays refused either way. Needs <see cref="ApiKeys"/> (checked at start).
    /// </summary>
    public bool ServiceChatRead { get; set; }
}
