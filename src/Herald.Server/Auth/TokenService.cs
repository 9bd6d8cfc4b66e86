using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Auth;

/// <summary>Issues and validates operator JWTs (HS256, key from <c>Herald:Auth:SigningKey</c>, shared by all nodes).</summary>
public sealed class TokenService
{
    /// <summary>The key Development falls back to, so tokens survive restarts there. Refused outside Development.</summary>
    public const string DevelopmentSigningKey = "herald-development-signing-key-do-not-use-in-production";

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly SymmetricSecurityKey _key;
    private readonly SigningCredentials _credentials;
    private readonly TokenValidationParameters _validation;
    private readonly AuthOptions _options;
    private readonly TimeProvider _time;

    public TokenService(IOptions<HeraldOptions> options, TimeProvider time)
    {
        _options = options.Value.Auth;
        _time = time;
        var key = _options.SigningKey ?? throw new InvalidOperationException("Herald:Auth:SigningKey is not set.");
        _key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)) { KeyId = TokenKeyRing.OperatorKeyId };
        _credentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256);
        _validation = new TokenValidationParameters
        {
            ValidIssuer = _options.Issuer,
            ValidAudience = _options.Issuer,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            // Small: a stream authorised by a token is closed at the token's exact expiry, so a token accepted well past it would
            // only open a stream to close it again.
            ClockSkew = TimeSpan.FromSeconds(5),
            RequireExpirationTime = true,
            RequireSignedTokens = true,
        };
    }

    public TimeSpan Lifetime => _options.TokenLifetime;

    public string Issue(long operatorId)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        // Only the claims validation needs: browsers put this token in stream URLs (?token=), where the request line
        // that carries it stays in memory for the stream's life, so every claim costs bytes per connection.
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _options.Issuer,
            Audience = _options.Issuer,
            IssuedAt = now,
            Expires = now + _options.TokenLifetime,
            SigningCredentials = _credentials,
            Subject = new ClaimsIdentity([new Claim("sub", operatorId.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
        });
    }

    /// <summary>Validates a token; on success returns the operator id and expiry.</summary>
    /// <remarks>
    /// Valid tokens are remembered until they expire (keyed by the token itself, so nothing but the exact
    /// string that passed the signature check matches). A node restart brings every console back at once with
    /// the tokens it already had; a full validation per connection (base64, JSON, HMAC, claim objects: about
    /// 3 KB of garbage each) made that storm, and the heap it left fragmented, far costlier than it needs to be.
    /// </remarks>
    public async Task<(OperatorPrincipal? Principal, string? Failure)> ValidateAsync(string token)
    {
        if (token.Length > 4096)
        {
            return (null, "token too long");
        }

        if (_validated.TryGetValue(token, out var known))
        {
            if (_time.GetUtcNow() < known.ExpiresAt!.Value + _validation.ClockSkew)
            {
                return (known, null);
            }

            _validated.TryRemove(token, out _);
        }

        var (principal, failure) = await ValidateUncachedAsync(token);
        if (principal is not null)
        {
            _validated.SetBounded(token, principal, MaxValidatedTokens);
        }

        return (principal, failure);
    }

    // A bound, not an eviction policy: an operator holds one token at a time, so this is thousands of consoles.
    private const int MaxValidatedTokens = 10_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, OperatorPrincipal> _validated = new(StringComparer.Ordinal);

    private async Task<(OperatorPrincipal? Principal, string? Failure)> ValidateUncachedAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _validation);
        if (!result.IsValid)
        {
            return (null, result.Exception switch
            {
                SecurityTokenExpiredException => "token expired",
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad signature",
                _ => "invalid token",
            });
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        if (!long.TryParse(jwt.Subject, out var id) || id <= 0)
        {
            return (null, "invalid token");
        }

        var email = jwt.TryGetClaim("email", out var claim) ? claim.Value : "";
        return (new OperatorPrincipal(id, email, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero)), null);
    }
}
