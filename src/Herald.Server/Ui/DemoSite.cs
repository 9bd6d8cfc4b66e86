using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Herald.Server.Ui;

/// <summary>The demo assistant and the site token <c>/demo</c> embeds, once <see cref="DemoSeeder"/> has run.</summary>
public sealed class DemoSite
{
    /// <summary>The operator a Development start creates when there is none, shown on the sign-in page.</summary>
    public const string DevelopmentAdminEmail = "admin@herald.local";

    public const string DevelopmentAdminPassword = "herald-dev-password";

    public const string AssistantName = "Demo shop";

    private volatile Info? _current;

    public Info? Current => _current;

    /// <summary>On in Development; elsewhere only with <c>Herald:Demo:Enabled=true</c>.</summary>
    public static bool IsEnabled(IConfiguration configuration, IHostEnvironment environment) =>
        configuration.GetValue("Herald:Demo:Enabled", environment.IsDevelopment());

    internal void Set(Info info) => _current = info;

    /// <summary>
    /// The demo's token, derived from the signing key rather than stored: Herald keeps only token hashes, and every
    /// start (and every node) must be able to show the same token on <c>/demo</c>. The domains version is part of
    /// it so that editing the demo assistant's domains yields a fresh token on the next start.
    /// </summary>
    internal static string DeriveToken(string signingKey, long assistantId, long domainsVersion)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingKey), Encoding.UTF8.GetBytes($"herald demo widget token|{assistantId}|{domainsVersion}"));
        return "hwt_" + Base64Url.EncodeToString(mac.AsSpan(0, 24));
    }

    public sealed record Info(long AssistantId, string SiteToken);
}
