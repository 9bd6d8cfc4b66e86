using System.Security.Cryptography;
using System.Text;
using Herald.Server.Auth;
using Herald.Testing;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Server.Tests.Auth;

/// <summary>
/// The key ring behind app tokens (issue 17): HS256/RS256/ES256 keys, PEM and JWKS, rotation by kid, and what it
/// refuses at start (the operators' key, private keys) and per token (alg none, algorithm confusion, exp, aud, iss).
/// </summary>
public sealed class TokenKeyRingTests : IDisposable
{
    private const string OperatorKey = "operator-signing-key-of-the-key-ring-tests";

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly TempDirectory _dir = new("herald-keyring-");

    public void Dispose()
    {
        _rsa.Dispose();
        _ec.Dispose();
        _dir.Dispose();
    }

    private static TokenKeyRing Ring(params TokenKeyOptions[] keys) => Ring(new AppTokenOptions { Keys = [.. keys] });

    private static TokenKeyRing Ring(TokenKeyRingOptions options) => TokenKeyRing.Load(options, "Herald:AppTokens", OperatorKey);

    private static TokenKeyOptions Hs(string secret, string? id = null) => new() { Id = id, Algorithm = "HS256", Secret = secret };

    private static async Task<string?> FailureAsync(TokenKeyRing ring, string token) => (await ring.VerifyAsync(token)).Failure;

    [Fact]
    public async Task Verify_EachAlgorithm_AcceptsItsOwnKeyOnly()
    {
        var ring = Ring(
            Hs(AppTokenMinter.Secret, "hs"),
            new TokenKeyOptions { Id = "rs", Algorithm = "RS256", PublicKeyPem = _rsa.ExportSubjectPublicKeyInfoPem() },
            new TokenKeyOptions { Id = "es", Algorithm = "es256", PublicKeyPem = _ec.ExportSubjectPublicKeyInfoPem() });

        var hs = await ring.VerifyAsync(AppTokenMinter.Mint("u1", ["a"], key: AppTokenMinter.HsKey(AppTokenMinter.Secret, "hs")));
        var rs = await ring.VerifyAsync(AppTokenMinter.Mint("u2", ["a"], key: new RsaSecurityKey(_rsa) { KeyId = "rs" }, algorithm: SecurityAlgorithms.RsaSha256));
        var es = await ring.VerifyAsync(AppTokenMinter.Mint("u3", ["a"], key: new ECDsaSecurityKey(_ec) { KeyId = "es" }, algorithm: SecurityAlgorithms.EcdsaSha256));
        Assert.True(hs.IsValid, hs.Failure);
        Assert.True(rs.IsValid, rs.Failure);
        Assert.True(es.IsValid, es.Failure);
        Assert.Equal(["u1", "u2", "u3"], new[] { hs.Token!.Subject, rs.Token!.Subject, es.Token!.Subject });

        using var otherRsa = RSA.Create(2048);
        Assert.Equal("bad signature", await FailureAsync(ring, AppTokenMinter.Mint("u", ["a"], key: new RsaSecurityKey(otherRsa) { KeyId = "rs" }, algorithm: SecurityAlgorithms.RsaSha256)));
        Assert.Equal("bad signature", await FailureAsync(ring, AppTokenMinter.Mint("u", ["a"], key: AppTokenMinter.HsKey("another-secret-that-is-long-enough-0123456789", "hs"))));
    }

    [Fact]
    public async Task Verify_Rotation_BothKeysWorkByKid_AndWithoutKid()
    {
        var ring = Ring(Hs("old-app-secret-0123456789abcdef0123456789", "2026-01"), Hs("new-app-secret-0123456789abcdef0123456789", "2026-02"));
        Assert.True((await ring.VerifyAsync(AppTokenMinter.Mint("u", ["a"], key: AppTokenMinter.HsKey("old-app-secret-0123456789abcdef0123456789", "2026-01")))).IsValid);
        Assert.True((await ring.VerifyAsync(AppTokenMinter.Mint("u", ["a"], key: AppTokenMinter.HsKey("new-app-secret-0123456789abcdef0123456789", "2026-02")))).IsValid);

        // A token without a kid is tried against keys without an id only: with ids configured, kid is required.
        var single = Ring(Hs(AppTokenMinter.Secret));
        Assert.True((await single.VerifyAsync(AppTokenMinter.Mint("u", ["a"]))).IsValid);
    }

    [Fact]
    public async Task Verify_HostileTokens_AreRefusedWithTheirReason()
    {
        var ring = TokenKeyRing.Load(new AppTokenOptions
        {
            Keys = [Hs(AppTokenMinter.Secret), new TokenKeyOptions { Id = "rs", Algorithm = "RS256", PublicKeyPem = _rsa.ExportSubjectPublicKeyInfoPem() }],
            Audience = "my-app",
            Issuer = "https://app.example",
        }, "Herald:AppTokens", OperatorKey);
        string Mint(DateTime? expires = null, string? aud = "my-app", string? iss = "https://app.example") =>
            AppTokenMinter.Mint("u", ["a"], expires: expires, audience: aud, issuer: iss);

        Assert.True((await ring.VerifyAsync(Mint())).IsValid);
        Assert.Equal("algorithm not allowed", await FailureAsync(ring, AppTokenMinter.AlgNone("u", ["a"])));
        Assert.Equal("token expired", await FailureAsync(ring, Mint(DateTime.UtcNow.AddMinutes(-1))));
        var withoutExp = AppTokenMinter.Sign(new() { ["sub"] = "u" }, AppTokenMinter.HsKey(AppTokenMinter.Secret),
            SecurityAlgorithms.HmacSha256, expires: null, "my-app", "https://app.example");
        Assert.Equal("missing exp", await FailureAsync(ring, withoutExp));

        // The explicit opt-out (Mercure's tokens) lets a token without exp through, never an expired one.
        Assert.True((await ring.VerifyAsync(withoutExp, requireExpiry: false)).IsValid);
        Assert.Equal("token expired", (await ring.VerifyAsync(Mint(DateTime.UtcNow.AddMinutes(-1)), requireExpiry: false)).Failure);
        Assert.Equal("wrong audience", await FailureAsync(ring, Mint(aud: "another-app")));
        Assert.Equal("wrong issuer", await FailureAsync(ring, Mint(iss: "https://evil.example")));
        Assert.Equal("algorithm not allowed", await FailureAsync(ring, AppTokenMinter.Mint("u", ["a"], algorithm: SecurityAlgorithms.HmacSha512,
            key: AppTokenMinter.HsKey(AppTokenMinter.Secret + AppTokenMinter.Secret), audience: "my-app", issuer: "https://app.example")));
        Assert.Equal("malformed token", await FailureAsync(ring, "not-a-jwt"));

        // Algorithm confusion: HS256 signed with the RSA public key's PEM as the HMAC secret, naming the RSA key.
        var confused = AppTokenMinter.Mint("u", ["a"], key: AppTokenMinter.HsKey(_rsa.ExportSubjectPublicKeyInfoPem(), "rs"), audience: "my-app", issuer: "https://app.example");
        Assert.Equal("bad signature", await FailureAsync(ring, confused));
    }

    [Fact]
    public async Task Load_Jwks_AcceptsPublicKeys()
    {
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(false)) { KeyId = "jwks-1" });
        var path = Path.Combine(_dir.Path, "keys.json");
        await File.WriteAllTextAsync(path, $"{{\"keys\":[{{\"kty\":\"RSA\",\"kid\":\"jwks-1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"{jwk.N}\",\"e\":\"{jwk.E}\"}}]}}");
        var ring = Ring(new AppTokenOptions { JwksFile = path });
        var result = await ring.VerifyAsync(AppTokenMinter.Mint("u", ["a"], key: new RsaSecurityKey(_rsa) { KeyId = "jwks-1" }, algorithm: SecurityAlgorithms.RsaSha256));
        Assert.True(result.IsValid, result.Failure);
    }

    [Fact]
    public async Task Load_BadKeys_AreRefusedNamingTheSetting()
    {
        Assert.Contains("Herald:AppTokens:Keys:0:Secret is the operators' signing key", Refusal(Ring, Hs(OperatorKey)));
        Assert.Contains("at least 32 bytes", Refusal(Ring, Hs("short")));
        Assert.Contains("private keys do not belong", Refusal(Ring, new TokenKeyOptions { Algorithm = "RS256", PublicKeyPem = _rsa.ExportRSAPrivateKeyPem() }));
        Assert.Contains("must be HS256, RS256 or ES256", Refusal(Ring, new TokenKeyOptions { Algorithm = "none", Secret = AppTokenMinter.Secret }));
        Assert.Contains("'herald'", Refusal(Ring, Hs(AppTokenMinter.Secret, "herald")));
        Assert.Contains("two keys have the id (kid) 'k'", Refusal(Ring, Hs(AppTokenMinter.Secret, "k"), Hs(AppTokenMinter.Secret + "x", "k")));
        using var small = RSA.Create(1024);
        Assert.Contains("at least 2048 bits", Refusal(Ring, new TokenKeyOptions { Algorithm = "RS256", PublicKeyPem = small.ExportSubjectPublicKeyInfoPem() }));

        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(true)) { KeyId = "leaked" });
        var path = Path.Combine(_dir.Path, "private.json");
        await File.WriteAllTextAsync(path, $"{{\"keys\":[{{\"kty\":\"RSA\",\"kid\":\"leaked\",\"n\":\"{jwk.N}\",\"e\":\"{jwk.E}\",\"d\":\"{jwk.D}\",\"p\":\"{jwk.P}\",\"q\":\"{jwk.Q}\"}}]}}");
        var error = Assert.Throws<InvalidOperationException>(() => Ring(new AppTokenOptions { JwksFile = path }));
        Assert.Contains("public RSA/EC keys only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NodeStart_AppSecretIsTheOperatorKey_StopsTheStartWithAClearMessage()
    {
        using var data = new TempDirectory("herald-keyring-");
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:SigningKey"] = OperatorKey,
            ["Herald:AppTokens:Keys:0:Secret"] = OperatorKey,
        }, data.Path));
        Assert.Contains("Herald:AppTokens:Keys:0:Secret is the operators' signing key", error.Message, StringComparison.Ordinal);
    }

    private static string Refusal(Func<TokenKeyOptions[], TokenKeyRing> load, params TokenKeyOptions[] keys) =>
        Assert.Throws<InvalidOperationException>(() => load(keys)).Message;
}
