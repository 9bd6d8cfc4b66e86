using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Testing;

/// <summary>Signs app tokens the way an application's backend does (Microsoft.IdentityModel), including the hostile shapes.</summary>
public static class AppTokenMinter
{
    /// <summary>An HS256 secret for the tests' app key ring (not the operators' key).</summary>
    public const string Secret = "app-secret-for-the-tests-0123456789abcdef";

    // No default times: a token without exp must be possible, to be refused.
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>A token for <paramref name="sub"/> granting <paramref name="subscribe"/> (and <paramref name="publish"/>).</summary>
    public static string Mint(string sub, string[] subscribe, string[]? publish = null, SecurityKey? key = null, string algorithm = SecurityAlgorithms.HmacSha256,
        DateTime? expires = null, string? audience = null, string? issuer = null)
    {
        var grant = new Dictionary<string, object> { ["subscribe"] = subscribe };
        if (publish is not null)
        {
            grant["publish"] = publish;
        }

        return Sign(new Dictionary<string, object> { ["sub"] = sub, ["herald"] = grant }, key ?? HsKey(Secret), algorithm, expires ?? DateTime.UtcNow.AddMinutes(10), audience, issuer);
    }

    /// <summary>Signs <paramref name="claims"/> as they are; <paramref name="expires"/> null leaves <c>exp</c> out.</summary>
    public static string Sign(Dictionary<string, object> claims, SecurityKey key, string algorithm, DateTime? expires, string? audience = null, string? issuer = null)
    {
        var now = DateTime.UtcNow;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Audience = audience,
            Issuer = issuer,
            IssuedAt = expires is { } e && e < now ? e.AddMinutes(-10) : now,
            NotBefore = expires is { } f && f < now ? f.AddMinutes(-10) : now,
            Expires = expires,
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with the given grant.</summary>
    public static string AlgNone(string sub, string[] subscribe)
    {
        var header = Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        var exp = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        var payload = Base64UrlEncoder.Encode($"{{\"sub\":\"{sub}\",\"exp\":{exp},\"herald\":{{\"subscribe\":[\"{string.Join("\",\"", subscribe)}\"]}}}}");
        return $"{header}.{payload}.";
    }

    public static SymmetricSecurityKey HsKey(string secret, string? kid = null) => new(Encoding.UTF8.GetBytes(secret)) { KeyId = kid };
}
