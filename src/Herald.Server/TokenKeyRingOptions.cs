namespace Herald.Server;

/// <summary>
/// The keys that sign JWTs an application issues (not Herald's own operator tokens), and the claims every such
/// token must carry. The shape is shared by every section that verifies app-signed tokens (<see cref="AppTokenOptions"/>
/// for subscriber tokens); <c>Auth/TokenKeyRing</c> loads and checks it once at start.
/// </summary>
public class TokenKeyRingOptions
{
    /// <summary>Signing keys, several at once for rotation: HS256 secrets or RS256/ES256 public keys (PEM).</summary>
    public List<TokenKeyOptions> Keys { get; set; } = [];

    /// <summary>A JWKS file (<c>{"keys":[...]}</c>) of RS256/ES256 public keys, read at start; in addition to <see cref="Keys"/>.</summary>
    public string? JwksFile { get; set; }

    /// <summary>When set, a token's <c>aud</c> must name it.</summary>
    public string? Audience { get; set; }

    /// <summary>When set, a token's <c>iss</c> must equal it.</summary>
    public string? Issuer { get; set; }

    /// <summary>True when at least one key is configured: without keys the section is off.</summary>
    public bool IsConfigured => Keys.Count > 0 || !string.IsNullOrWhiteSpace(JwksFile);
}

/// <summary>One key of a <see cref="TokenKeyRingOptions"/> ring.</summary>
public sealed class TokenKeyOptions
{
    /// <summary>The JWT header's <c>kid</c> this key answers to; optional, but needed to tell several keys of one algorithm apart cheaply.</summary>
    public string? Id { get; set; }

    /// <summary><c>HS256</c>, <c>RS256</c> or <c>ES256</c>; a token is checked only against keys of its own <c>alg</c>.</summary>
    public string Algorithm { get; set; } = "HS256";

    /// <summary>HS256: the shared secret, at least 32 bytes, never the operators' signing key.</summary>
    public string? Secret { get; set; }

    /// <summary>RS256/ES256: the public key as PEM text (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
    public string? PublicKeyPem { get; set; }

    /// <summary>RS256/ES256: a file holding the PEM public key (instead of <see cref="PublicKeyPem"/>).</summary>
    public string? PublicKeyFile { get; set; }
}
