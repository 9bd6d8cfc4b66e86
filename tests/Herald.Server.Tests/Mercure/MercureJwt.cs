using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Herald.Server.Tests.Mercure;

/// <summary>Signs tokens as a Symfony app does (lcobucci/jwt: HS256 over base64url JSON) or with an RS256 private key, with no library of Herald's.</summary>
internal static class MercureJwt
{
    /// <summary>Mercure's documented default secret: the official conformance suite's token is signed with it.</summary>
    public const string Key = "!ChangeThisMercureHubJWTSecretKey!";

    /// <summary>The RS256 key pair of a publisher that signs with a private key; the hub is given only its public half.</summary>
    public static readonly RSA Rsa = RSA.Create(2048);

    public static string Sign(object claims, string key = Key, string type = "JWT") =>
        Signed("HS256", type, claims, input => HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), input));

    /// <summary>An RS256 token signed with <see cref="Rsa"/>, as a publisher holding a private key signs it.</summary>
    public static string SignRs256(object claims) =>
        Signed("RS256", "JWT", claims, input => Rsa.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    private static string Signed(string alg, string type, object claims, Func<byte[], byte[]> sign)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = type }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        return $"{header}.{payload}.{Base64Url(sign(Encoding.ASCII.GetBytes($"{header}.{payload}")))}";
    }

    /// <summary>A 0.x token (Symfony's MercureBundle, API Platform): the <c>mercure</c> claim.</summary>
    public static string Legacy(string[]? publish = null, string[]? subscribe = null, string key = Key) =>
        Sign(new { mercure = new { publish = publish ?? [], subscribe = subscribe ?? [] } }, key);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
