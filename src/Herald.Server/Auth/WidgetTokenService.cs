using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Herald.Protocol.Web;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>
/// Widget (site) tokens, seed 000's model: an opaque token bound to an assistant and a list of domains.
/// Validation answers with seed 000's reasons: <c>invalid token</c>, <c>revoked</c>, <c>domains changed</c>,
/// <c>domain not allowed</c>.
/// </summary>
/// <remarks>
/// Only the SHA-256 of a token is stored, so a database leak does not leak working tokens. Results are cached
/// for a few seconds per node: a revocation takes effect on every node within <see cref="CacheFor"/>, for requests
/// here and for open streams through <see cref="GrantWatcher"/>.
/// </remarks>
public sealed class WidgetTokenService(SqlStore store, AccessCache assistants, IHostEnvironment environment, TimeProvider time)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private const string Prefix = "hwt_";

    // Token records by hash; the token's assistant comes from AccessCache, which holds each assistant once for every check.
    private readonly ConcurrentDictionary<string, (WidgetTokenRecord? Token, long At)> _cache = new(StringComparer.Ordinal);

    /// <summary>In Development, <c>localhost</c> and <c>127.0.0.1</c> on any port are allowed everywhere (seed 000).</summary>
    public bool AllowLocalhost => environment.IsDevelopment();

    public static string NewToken() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(24));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Checks a token for a domain (<c>host[:port]</c>; null = no domain check).</summary>
    public async Task<WidgetTokenCheck> ValidateAsync(string token, string? domain, CancellationToken ct)
    {
        if (token.Length is 0 or > 200 || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return WidgetTokenCheck.Invalid("invalid token");
        }

        var hash = Hash(token);
        var now = time.GetTimestamp();
        if (!_cache.TryGetValue(hash, out var entry) || time.GetElapsedTime(entry.At) > CacheFor)
        {
            entry = (await store.FindWidgetTokenAsync(hash, ct), now);
            _cache.SetBounded(hash, entry, 100_000);
        }

        var tokenRecord = entry.Token;
        var assistantRecord = tokenRecord is null ? null : await assistants.GetAssistantAsync(tokenRecord.AssistantId, ct);
        return Refusal(tokenRecord, assistantRecord, domain) is { } reason
            ? WidgetTokenCheck.Invalid(reason)
            : new WidgetTokenCheck(true, null, tokenRecord, assistantRecord);
    }

    /// <summary>
    /// Why <paramref name="token"/> of <paramref name="assistant"/> does not admit <paramref name="domain"/> (null = no
    /// domain check), in seed 000's words; null when it does. Shared by requests and the re-check of open streams.
    /// </summary>
    public string? Refusal(WidgetTokenRecord? token, AssistantRecord? assistant, string? domain)
    {
        if (token is null || assistant is null)
        {
            return "invalid token";
        }

        if (token.RevokedAt is not null)
        {
            return "revoked";
        }

        if (token.DomainsVersion != assistant.DomainsVersion)
        {
            return "domains changed";
        }

        return domain is not null && !DomainRules.Matches(domain, DomainRules.Parse(token.AllowedDomains), AllowLocalhost) ? "domain not allowed" : null;
    }

    /// <summary>Forgets cached token records (after a revoke or a rotation on this node).</summary>
    public void Invalidate() => _cache.Clear();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
