using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Auth;

/// <summary>
/// The validated keys of one <see cref="TokenKeyRingOptions"/> section and the one way to verify a token against
/// them: signature, <c>exp</c> (required), <c>aud</c>/<c>iss</c> when configured. What a token grants is not its
/// business — a claim reader (<c>AppTokenService</c> for subscriber tokens) takes the verified
/// <see cref="JsonWebToken"/> and reads its own claims, so every reader shares the same checks.
/// </summary>
/// <remarks>
/// Each key is bound to one algorithm and a token is checked only against keys of its header's <c>alg</c>: an RS256
/// public key is never tried as an HMAC secret (algorithm confusion), and <c>alg: none</c> or any algorithm outside
/// HS256/RS256/ES256 is refused before anything else is looked at. The crypto is Microsoft.IdentityModel's.
/// </remarks>
public sealed class TokenKeyRing
{
    /// <summary>The <c>kid</c> of Herald's own operator tokens (<see cref="TokenService"/>); no app key may take it.</summary>
    public const string OperatorKeyId = "herald";

    /// <summary>Longest token accepted: a JWT in a URL (<c>?token=</c>) that is longer is not a subscriber token.</summary>
    public const int MaxTokenLength = 8192;

    private static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    private readonly RingKey[] _keys;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _validation;
    private readonly TokenValidationParameters _validationWithoutExpiry;

    private TokenKeyRing(RingKey[] keys, TokenKeyRingOptions options)
    {
        _keys = keys;
        _validation = new TokenValidationParameters
        {
            ValidAlgorithms = Algorithms,
            IssuerSigningKeyResolver = (_, token, kid, _) => Resolve(((JsonWebToken)token).Alg, kid),
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            // Small, as for operator tokens: a stream is closed at its token's exact expiry.
            ClockSkew = TimeSpan.FromSeconds(5),
            ValidateAudience = !string.IsNullOrEmpty(options.Audience),
            ValidAudience = options.Audience,
            ValidateIssuer = !string.IsNullOrEmpty(options.Issuer),
            ValidIssuer = options.Issuer,
        };
        _validationWithoutExpiry = _validation.Clone();
        _validationWithoutExpiry.RequireExpirationTime = false;
    }

    /// <summary>True when the section configures at least one key.</summary>
    public bool IsEnabled => _keys.Length > 0;

    /// <summary>The configured keys' ids (<c>kid</c>), for the checks that keep rings apart; null entries for keys without one.</summary>
    public IEnumerable<string?> KeyIds => _keys.Select(k => k.Id);

    /// <summary>
    /// Loads and checks <paramref name="options"/>; throws <see cref="InvalidOperationException"/> naming the
    /// setting (<paramref name="section"/>, e.g. <c>Herald:AppTokens</c>) and the rule on the first problem. Run at
    /// start by the options validator, so a node never serves with a ring it cannot use. An HS256 secret equal to
    /// <paramref name="operatorSigningKey"/> (Herald's operator key) is refused: the app could mint operator tokens.
    /// </summary>
    public static TokenKeyRing Load(TokenKeyRingOptions options, string section, string? operatorSigningKey)
    {
        List<RingKey> keys = [];
        for (var i = 0; i < options.Keys.Count; i++)
        {
            keys.Add(LoadKey(options.Keys[i], $"{section}:Keys:{i}", operatorSigningKey));
        }

        if (!string.IsNullOrWhiteSpace(options.JwksFile))
        {
            keys.AddRange(LoadJwks(options.JwksFile, $"{section}:JwksFile"));
        }

        var duplicate = keys.Where(k => k.Id is not null).GroupBy(k => k.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"{section}: two keys have the id (kid) '{duplicate.Key}'; each key needs its own.");
        }

        return new TokenKeyRing([.. keys], options);
    }

    /// <summary>
    /// Verifies <paramref name="token"/>: a known algorithm, a signature by one of the ring's keys of that algorithm,
    /// an <c>exp</c> in the future, and <c>aud</c>/<c>iss</c> when the section sets them. On failure, a short
    /// reason fit for a log and an error detail (it never echoes the token).
    /// </summary>
    /// <param name="token">The compact JWT.</param>
    /// <param name="requireExpiry">
    /// False only for a protocol whose reference server accepts tokens without <c>exp</c> (Mercure: the hub checks
    /// <c>exp</c> when present, and Symfony's MercureBundle issues tokens without one); an <c>exp</c> that is there
    /// is still enforced.
    /// </param>
    public async Task<TokenVerification> VerifyAsync(string token, bool requireExpiry = true)
    {
        if (_keys.Length == 0)
        {
            return new(null, "no keys configured");
        }

        if (token.Length > MaxTokenLength)
        {
            return new(null, "token too long");
        }

        string alg;
        try
        {
            alg = new JsonWebToken(token).Alg;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return new(null, "malformed token");
        }

        if (Array.IndexOf(Algorithms, alg) < 0)
        {
            // alg "none" (an unsigned token) lands here too.
            return new(null, "algorithm not allowed");
        }

        var result = await _handler.ValidateTokenAsync(token, requireExpiry ? _validation : _validationWithoutExpiry).ConfigureAwait(false);
        return result.IsValid
            ? new((JsonWebToken)result.SecurityToken, null)
            : new(null, result.Exception switch
            {
                SecurityTokenNoExpirationException => "missing exp",
                SecurityTokenExpiredException => "token expired",
                SecurityTokenNotYetValidException => "token not yet valid",
                SecurityTokenInvalidAudienceException => "wrong audience",
                SecurityTokenInvalidIssuerException => "wrong issuer",
                SecurityTokenInvalidAlgorithmException => "algorithm not allowed",
                SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad signature",
                _ => "invalid token",
            });
    }

    // A kid names its key; a token without one (or naming none of the ring's) is tried against the keys without an id.
    private IEnumerable<SecurityKey> Resolve(string alg, string? kid)
    {
        var byId = kid is null ? [] : _keys.Where(k => k.Algorithm == alg && k.Id == kid).Select(k => k.Key).ToArray();
        return byId.Length > 0 ? byId : _keys.Where(k => k.Algorithm == alg && (k.Id is null || kid is null)).Select(k => k.Key).ToArray();
    }

    private static RingKey LoadKey(TokenKeyOptions key, string setting, string? operatorSigningKey)
    {
        if (key.Id is { } id && (id.Length == 0 || id == OperatorKeyId))
        {
            throw new InvalidOperationException($"{setting}:Id must not be empty or '{OperatorKeyId}' (the operator tokens' kid).");
        }

        var algorithm = key.Algorithm.ToUpperInvariant();
        switch (algorithm)
        {
            case SecurityAlgorithms.HmacSha256:
                if (key.PublicKeyPem is not null || key.PublicKeyFile is not null)
                {
                    throw new InvalidOperationException($"{setting}: an HS256 key takes a Secret, not a public key.");
                }

                var secret = Encoding.UTF8.GetBytes(key.Secret ?? "");
                if (secret.Length < 32)
                {
                    throw new InvalidOperationException($"{setting}:Secret must be at least 32 bytes long (HS256).");
                }

                if (operatorSigningKey is not null && CryptographicOperations.FixedTimeEquals(secret, Encoding.UTF8.GetBytes(operatorSigningKey)))
                {
                    throw new InvalidOperationException(
                        $"{setting}:Secret is the operators' signing key (Herald:Auth:SigningKey): an app holding it could mint operator tokens. Give the app a secret of its own.");
                }

                return new(key.Id, algorithm, new SymmetricSecurityKey(secret) { KeyId = key.Id });
            case SecurityAlgorithms.RsaSha256 or SecurityAlgorithms.EcdsaSha256:
                if (key.Secret is not null)
                {
                    throw new InvalidOperationException($"{setting}: an {algorithm} key takes a public key (PublicKeyPem or PublicKeyFile), not a Secret.");
                }

                return new(key.Id, algorithm, PublicKey(algorithm, ReadPem(key, setting), setting, key.Id));
            default:
                throw new InvalidOperationException($"{setting}:Algorithm must be HS256, RS256 or ES256 (got '{key.Algorithm}').");
        }
    }

    private static string ReadPem(TokenKeyOptions key, string setting)
    {
        if ((key.PublicKeyPem is null) == (key.PublicKeyFile is null))
        {
            throw new InvalidOperationException($"{setting}: set exactly one of PublicKeyPem and PublicKeyFile.");
        }

        if (key.PublicKeyPem is { } pem)
        {
            return pem;
        }

        try
        {
            return File.ReadAllText(key.PublicKeyFile!);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting}:PublicKeyFile '{key.PublicKeyFile}' cannot be read: {ex.Message}");
        }
    }

    private static SecurityKey PublicKey(string algorithm, string pem, string setting, string? id)
    {
        // Only a public key: the gateway verifies, and a private key on it would be one more copy to steal.
        if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] is not ("PUBLIC KEY" or "RSA PUBLIC KEY"))
        {
            throw new InvalidOperationException($"{setting}: expected a PEM public key (-----BEGIN PUBLIC KEY-----); private keys do not belong on the gateway.");
        }

        try
        {
            if (algorithm == SecurityAlgorithms.RsaSha256)
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(pem);
                return rsa.KeySize >= 2048
                    ? new RsaSecurityKey(rsa) { KeyId = id }
                    : throw new InvalidOperationException($"{setting}: an RS256 key needs at least 2048 bits (got {rsa.KeySize}).");
            }

            var ecdsa = ECDsa.Create();
            ecdsa.ImportFromPem(pem);
            return ecdsa.KeySize == 256
                ? new ECDsaSecurityKey(ecdsa) { KeyId = id }
                : throw new InvalidOperationException($"{setting}: an ES256 key is a P-256 key (got {ecdsa.KeySize} bits).");
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"{setting}: the PEM is not an {algorithm} public key ({ex.Message}).");
        }
    }

    private static IEnumerable<RingKey> LoadJwks(string path, string setting)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new InvalidOperationException($"{setting} '{path}' is not a readable JWKS file ({{\"keys\":[...]}}): {ex.Message}");
        }

        if (set.Keys.Count == 0)
        {
            throw new InvalidOperationException($"{setting} '{path}' has no keys.");
        }

        foreach (var jwk in set.Keys)
        {
            var name = $"{setting} key '{jwk.Kid}'";
            if (jwk.Kid == OperatorKeyId)
            {
                throw new InvalidOperationException($"{name}: the kid '{OperatorKeyId}' is the operator tokens'.");
            }

            if (HasPrivatePart(jwk) || jwk.Kty == JsonWebAlgorithmsKeyTypes.Octet)
            {
                throw new InvalidOperationException($"{name}: a JWKS file holds public RSA/EC keys only (no private parts, no shared secrets).");
            }

            if (jwk.Use is { Length: > 0 } use && use != JsonWebKeyUseNames.Sig)
            {
                throw new InvalidOperationException($"{name}: 'use' is '{use}', not 'sig'.");
            }

            var algorithm = jwk.Kty switch
            {
                JsonWebAlgorithmsKeyTypes.RSA => SecurityAlgorithms.RsaSha256,
                JsonWebAlgorithmsKeyTypes.EllipticCurve when jwk.Crv == JsonWebKeyECTypes.P256 => SecurityAlgorithms.EcdsaSha256,
                _ => throw new InvalidOperationException($"{name}: only RSA (RS256) and P-256 EC (ES256) keys are accepted (kty '{jwk.Kty}', crv '{jwk.Crv}')."),
            };
            if (jwk.Alg is { Length: > 0 } alg && alg != algorithm)
            {
                throw new InvalidOperationException($"{name}: alg '{alg}' is not accepted; {jwk.Kty} keys verify {algorithm}.");
            }

            yield return new(string.IsNullOrEmpty(jwk.Kid) ? null : jwk.Kid, algorithm, jwk);
        }
    }

    // JsonWebKey.HasPrivateKey wants every CRT part; one private part alone is already a leaked key.
    private static bool HasPrivatePart(JsonWebKey jwk) =>
        new[] { jwk.D, jwk.P, jwk.Q, jwk.DP, jwk.DQ, jwk.QI, jwk.K }.Any(part => !string.IsNullOrEmpty(part));

    private sealed record RingKey(string? Id, string Algorithm, SecurityKey Key);
}

/// <summary>The outcome of <see cref="TokenKeyRing.VerifyAsync"/>: the verified token, or why it was refused.</summary>
public readonly record struct TokenVerification(JsonWebToken? Token, string? Failure)
{
    public bool IsValid => Token is not null;
}
