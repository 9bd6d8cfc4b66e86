using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Herald.Server.Tests.Mercure;

/// <summary>Signs tokens as a Symfony app does (lcobucci/jwt: HS256 over base64url JSON), with no library of Herald's.</summary>
internal static class MercureJwt
{
    /// <summary>Mercure's documented default secret: the official conformance suite's token is signed with it.</summary>
    public const string Key = "!ChangeThisMercureHubJWTSecretKey!";

    public static string Sign(object claims, string key = Key, string type = "JWT")
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = type }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes($"{header}.{payload}")));
        return $"{header}.{payload}.{signature}";
    }

    /// <summary>A 0.x token (Symfony's MercureBundle, API Platform): the <c>mercure</c> claim.</summary>
    public static string Legacy(string[]? publish = null, string[]? subscribe = null, string key = Key) =>
        Sign(new { mercure = new { publish = publish ?? [], subscribe = subscribe ?? [] } }, key);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
