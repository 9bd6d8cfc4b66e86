using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace Herald.Server.Backplane;

/// <summary>
/// The one parser of <c>Herald:Redis:Url</c>: a <c>redis://</c> / <c>rediss://</c> URL (what Herald always took) or a
/// StackExchange.Redis configuration string (what .NET operators already have for Sentinel and Cluster), both made into
/// the same <see cref="ConfigurationOptions"/>. The validator calls it at start; <see cref="RedisBus"/> calls it again.
/// </summary>
public static class RedisConfiguration
{
    private const int DefaultPort = 6379;

    /// <summary>Parses <paramref name="value"/>; the <see cref="FormatException"/>'s message never quotes it (it may hold a password).</summary>
    public static ConfigurationOptions Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        var options = trimmed.Contains("://", StringComparison.Ordinal) ? ParseUrl(trimmed) : ParseConfigurationString(trimmed);
        if (options.EndPoints.Count == 0)
        {
            throw new FormatException("It names no Redis endpoint (host:port).");
        }

        return options;
    }

    /// <summary>
    /// Trusts <paramref name="caFile"/> (PEM) as an issuer of the Redis server's certificate, beside the system's store:
    /// a chain that fails only because its root is not the system's is accepted when it ends at that certificate.
    /// </summary>
    public static void TrustIssuer(ConfigurationOptions options, string caFile)
    {
        var authority = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
        options.CertificateValidation += (_, certificate, _, errors) =>
            errors == SslPolicyErrors.None
            || (errors == SslPolicyErrors.RemoteCertificateChainErrors && certificate is not null && ChainsTo(certificate, authority));
    }

    /// <summary>The endpoints, user, database and TLS, with no secret: what a log line may say.</summary>
    public static string Describe(ConfigurationOptions options)
    {
        var endpoints = string.Join(',', options.EndPoints.Select(EndPointCollection.ToString));
        var mode = string.IsNullOrEmpty(options.ServiceName) ? "" : $" sentinel service {options.ServiceName}";
        var user = options.User is null ? "" : $" user {options.User}";
        return $"{(options.Ssl ? "rediss" : "redis")}://{endpoints}{mode}{user}";
    }

    private static bool ChainsTo(X509Certificate certificate, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        // A private CA rarely publishes revocation lists; the operator named this CA explicitly.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf) && chain.ChainElements[^1].Certificate.Thumbprint == authority.Thumbprint;
    }

    private static ConfigurationOptions ParseConfigurationString(string value)
    {
        try
        {
            return ConfigurationOptions.Parse(value);
        }
        catch (ArgumentException ex)
        {
            // StackExchange.Redis names the keyword, never a value.
            throw new FormatException(
                "It is neither a redis:// / rediss:// URL nor a StackExchange.Redis configuration string "
                + $"(host:port[,host:port][,password=…][,ssl=true][,serviceName=…]): {ex.Message}", ex);
        }
    }

    private static ConfigurationOptions ParseUrl(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var scheme = url[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("redis" or "rediss"))
        {
            throw new FormatException(
                "A Redis URL must start with redis:// or rediss:// (TLS), as in redis://user:password@host:6379/0"
                + " (or give a StackExchange.Redis configuration string, as in host:6379,password=…).");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException(
                "The Redis URL is malformed: expected " + scheme + "://[user:password@]host[:port][/db] with a valid "
                + "host and a port between 1 and 65535.");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new FormatException("The Redis URL must not have a query string or fragment.");
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0
            && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database < 0))
        {
            throw new FormatException("The path of a Redis URL must be a database number, as in redis://host:6379/2.");
        }

        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var rawUser = colon < 0 ? uri.UserInfo : uri.UserInfo[..colon];
            user = rawUser.Length == 0 ? null : Uri.UnescapeDataString(rawUser);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        var host = uri.IdnHost;
        var options = new ConfigurationOptions
        {
            User = user,
            Password = password,
            DefaultDatabase = database,
            Ssl = scheme == "rediss",
            // The certificate must name the host the URL names, as any TLS client checks it.
            SslHost = scheme == "rediss" ? host : null,
        };
        options.EndPoints.Add(host, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port);
        return options;
    }
}
