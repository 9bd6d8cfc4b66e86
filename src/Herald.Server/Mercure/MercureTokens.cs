using System.Text;
using System.Text.Json;
using Herald.Server.Auth;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Mercure;

/// <summary>Which key a token is checked with: publishers' and subscribers' may differ (Mercure's <c>publisher_jwt</c>, <c>subscriber_jwt</c>).</summary>
public enum MercureRole
{
    Publisher,
    Subscriber,
}

/// <summary>
/// Finds a request's Mercure token and verifies it with the role's <see cref="TokenKeyRing"/> (the one verifier of
/// app-signed tokens: HS256/RS256/ES256, JWKS, <c>kid</c>, <c>iss</c>/<c>aud</c> when configured), then reads the grants.
/// </summary>
/// <remarks>
/// The token is taken from <c>Authorization: Bearer</c>; without that header, from the cookie
/// (<c>Herald:Mercure:CookieName</c>); without either, from the <c>authorization</c> query parameter (Mercure 0.x;
/// for clients that can set neither). <c>exp</c> is not required — the Mercure hub checks it only when present and
/// the tokens Symfony's MercureBundle issues by default have none — but enforced when there. Every failure is reported
/// the same way (401 <c>invalid_token</c>): why a token failed is not told.
/// </remarks>
public sealed class MercureTokens
{
    private readonly MercureOptions _options;
    private readonly TokenKeyRing _publisher;
    private readonly TokenKeyRing _subscriber;

    public MercureTokens(IOptions<HeraldOptions> options)
    {
        _options = options.Value.Mercure;
        _publisher = Ring(_options, MercureRole.Publisher, options.Value.Auth.SigningKey);
        _subscriber = Ring(_options, MercureRole.Subscriber, options.Value.Auth.SigningKey);
    }

    /// <summary>The start-up check (HeraldOptionsValidator): an enabled hub has a publisher key, and every key is usable.</summary>
    public static void ValidateOptions(MercureOptions options, string? operatorSigningKey)
    {
        if (!options.Enabled)
        {
            return;
        }

        foreach (var (name, key) in new[] { ("JwtKey", options.JwtKey), ("PublisherJwtKey", options.PublisherJwtKey), ("SubscriberJwtKey", options.SubscriberJwtKey) })
        {
            if (key is not null && Encoding.UTF8.GetByteCount(key) < 32)
            {
                throw new InvalidOperationException($"Herald:Mercure:{name} must be at least 32 bytes long (HS256)");
            }
        }

        if (!Ring(options, MercureRole.Publisher, operatorSigningKey).IsEnabled)
        {
            throw new InvalidOperationException(
                "Herald:Mercure:Enabled needs a key publishers sign with: Herald:Mercure:JwtKey or PublisherJwtKey (HS256), or Herald:Mercure:Keys / JwksFile");
        }

        Ring(options, MercureRole.Subscriber, operatorSigningKey);

        if (options.MaxSelectors is < 1 or > 1000 || options.MaxTopicsPerUpdate is < 1 or > 1000 || options.MaxUpdateBytes is < 1024 or > 64 << 20)
        {
            throw new InvalidOperationException("Herald:Mercure:MaxSelectors and MaxTopicsPerUpdate must be between 1 and 1000, MaxUpdateBytes between 1024 and 67108864");
        }

        foreach (var origin in options.CorsOrigins)
        {
            if (origin != "*" && Protocol.Web.WebOrigin.TryParse(origin) is null)
            {
                throw new InvalidOperationException($"Herald:Mercure:CorsOrigins has '{origin}', which is not an origin such as https://app.example.com (or '*')");
            }
        }
    }

    /// <summary>The token a request presents, or null.</summary>
    public string? Find(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : header;
        }

        if (request.Cookies.TryGetValue(_options.CookieName, out var cookie) && cookie.Length > 0)
        {
            return cookie;
        }

        var query = request.Query["authorization"].ToString();
        return query.Length > 0 ? query : null;
    }

    /// <summary>Verifies <paramref name="token"/> for <paramref name="role"/>; null when it is not valid.</summary>
    public async Task<MercureGrants?> VerifyAsync(string token, MercureRole role, string hubUrl)
    {
        var verified = await (role == MercureRole.Publisher ? _publisher : _subscriber).VerifyAsync(token, requireExpiry: false).ConfigureAwait(false);
        if (verified.Token is not { } jwt)
        {
            return null;
        }

        try
        {
            using var claims = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            DateTimeOffset? expires = jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
            return MercureGrants.FromClaims(claims.RootElement, hubUrl, expires);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            // A grant that does not parse refuses the whole token (the draft: no partial acceptance).
            return null;
        }
    }

    // One ring per role: the shared Keys/JwksFile, plus the role's Mercure-named HS256 secret (PublisherJwtKey or
    // SubscriberJwtKey, else JwtKey), so a Symfony app's MERCURE_JWT_SECRET keeps working unchanged.
    private static TokenKeyRing Ring(MercureOptions options, MercureRole role, string? operatorSigningKey)
    {
        var secret = (role == MercureRole.Publisher ? options.PublisherJwtKey : options.SubscriberJwtKey) ?? options.JwtKey;
        var ring = new TokenKeyRingOptions { JwksFile = options.JwksFile, Audience = options.Audience, Issuer = options.Issuer, Keys = [.. options.Keys] };
        if (secret is not null)
        {
            ring.Keys.Add(new TokenKeyOptions { Algorithm = SecurityAlgorithms.HmacSha256, Secret = secret });
        }

        return TokenKeyRing.Load(ring, $"Herald:Mercure ({role.ToString().ToLowerInvariant()} tokens)", operatorSigningKey);
    }
}
