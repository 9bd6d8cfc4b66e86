using System.Security.Cryptography;
using Herald.Server.Mercure;

namespace Herald.Server.Tests.Mercure;

/// <summary>The hub's start-up check: its keys are the key ring's, so the ring's rules (and its key types) apply to them.</summary>
public sealed class MercureOptionsTests
{
    private const string OperatorKey = "operator-signing-key-of-the-mercure-options-tests";

    [Fact]
    public void ValidateOptions_TakesAnRs256KeyAlone_AndRefusesTheOperatorsKeyOrNoPublisherKey()
    {
        using var rsa = RSA.Create(2048);
        MercureTokens.ValidateOptions(new MercureOptions
        {
            Enabled = true,
            Keys = [new TokenKeyOptions { Algorithm = "RS256", PublicKeyPem = rsa.ExportSubjectPublicKeyInfoPem() }],
        }, OperatorKey);

        var operatorKey = Assert.Throws<InvalidOperationException>(() =>
            MercureTokens.ValidateOptions(new MercureOptions { Enabled = true, JwtKey = OperatorKey }, OperatorKey));
        Assert.Contains("Herald:Auth:SigningKey", operatorKey.Message, StringComparison.Ordinal);

        var none = Assert.Throws<InvalidOperationException>(() =>
            MercureTokens.ValidateOptions(new MercureOptions { Enabled = true, SubscriberJwtKey = MercureJwt.Key }, OperatorKey));
        Assert.Contains("Herald:Mercure:Enabled needs a key publishers sign with", none.Message, StringComparison.Ordinal);

        var privateKey = Assert.Throws<InvalidOperationException>(() => MercureTokens.ValidateOptions(new MercureOptions
        {
            Enabled = true,
            JwtKey = MercureJwt.Key,
            Keys = [new TokenKeyOptions { Algorithm = "RS256", PublicKeyPem = rsa.ExportPkcs8PrivateKeyPem() }],
        }, OperatorKey));
        Assert.Contains("private keys do not belong on the gateway", privateKey.Message, StringComparison.Ordinal);
    }
}
