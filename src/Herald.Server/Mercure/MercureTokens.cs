using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Mercure;

/// <summary>Which key a token is checked with: publishers' and subscribers' may differ (Mercure's <c>publisher_jwt</c>, <c>subscriber_jwt</c>).</summary>
public enum MercureRole
{
    Publisher,
    Subscriber,
}

/// <summary>
/// Finds a request's Mercure token and verifies it: HS256 with the role's key (<c>Herald:Mercure:*JwtKey</c>),
/// <c>exp</c> and <c>nbf</c> enforced when present, <c>iss</c> and <c>aud</c> when configured, then the grants read.
/// </summary>
/// <remarks>
/// The token is taken from <c>Authorization: Bearer</c>; without that header, from the cookie
/// (<c>Herald:Mercure:CookieName</c>); without either, from the <c>authorization</c> query parameter (Mercure 0.x;
/// for clients that can set neither). <c>exp</c> is not required: the tokens Symfony's MercureBundle issues by default
/// have none. Every failure is reported the same way (401 <c>invalid_token</c>): why a token failed is not told.
/// </remarks>
public sealed class MercureTokens
{
    private const int MaxTokenLength = 8192;

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly MercureOptions _options;
    private readonly TokenValidationParameters? _publisher;
    private readonly TokenValidationParameters? _subscriber;

    public MercureTokens(IOptions<HeraldOptions> options)
    {
        _options = options.Value.Mercure;
        _publisher = Parameters(_options.PublisherJwtKey ?? _options.JwtKey);
        _subscriber = Parameters(_options.SubscriberJwtKey ?? _options.JwtKey);
    }

    /// <summary>The start-up check (HeraldOptionsValidator): an enabled hub has a publisher key, and every key is long enough.</summary>
    public static void ValidateOptions(MercureOptions options)
    {
        if (!options.Enabled)
        {
            return;
        }

        if (string.IsNullOrEmpty(options.PublisherJwtKey ?? options.JwtKey))
        {
            throw new InvalidOperationException("Herald:Mercure:Enabled needs Herald:Mercure:JwtKey or Herald:Mercure:PublisherJwtKey (the secret publishers sign with)");
        }

        foreach (var (name, key) in new[] { ("JwtKey", options.JwtKey), ("PublisherJwtKey", options.PublisherJwtKey), ("SubscriberJwtKey", options.SubscriberJwtKey) })
        {
            if (key is not null && Encoding.UTF8.GetByteCount(key) < 32)
            {
                throw new InvalidOperationException($"Herald:Mercure:{name} must be at least 32 bytes long (HS256)");
            }
        }

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
        var parameters = role == MercureRole.Publisher ? _publisher : _subscriber;
        if (parameters is null || token.Length > MaxTokenLength)
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
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

    private TokenValidationParameters? Parameters(string? key) => key is null ? null : new TokenValidationParameters
    {
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = _options.Issuer is not null,
        ValidIssuer = _options.Issuer,
        ValidateAudience = _options.Audience is not null,
        ValidAudience = _options.Audience,
        RequireExpirationTime = false,
        ValidateLifetime = true,
        ClockSkew = TimeSpan.FromSeconds(5),
        RequireSignedTokens = true,
    };
}
