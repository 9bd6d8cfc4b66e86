using System.Globalization;
using System.Text;

namespace Herald.Redis;

/// <summary>
/// Where and how to connect: host, port, credentials, database and TLS, usually parsed from
/// <c>redis://[user:password@]host:port[/db]</c> or <c>rediss://...</c> (TLS).
/// </summary>
public sealed class RedisEndpoint
{
    /// <summary>The port Redis listens on unless told otherwise.</summary>
    public const int DefaultPort = 6379;

    /// <summary>Creates an endpoint for <paramref name="host"/>:<paramref name="port"/>.</summary>
    public RedisEndpoint(string host, int port = DefaultPort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host;
        Port = port;
    }

    /// <summary>The host name or IP address (IPv6 without brackets).</summary>
    public string Host { get; }

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>The ACL user name, or <see langword="null"/> to authenticate as the default user.</summary>
    public string? User { get; init; }

    /// <summary>The password, or <see langword="null"/> when the server needs none. Never printed.</summary>
    public string? Password { get; init; }

    /// <summary>The database selected on every connection (0 unless given).</summary>
    public int Database
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>True for <c>rediss://</c>: the connection is wrapped in TLS.</summary>
    public bool UseTls { get; init; }

    /// <summary>
    /// Parses <c>redis://[user:password@]host[:port][/db]</c> or <c>rediss://...</c>. User and password are
    /// URL-decoded (write <c>%40</c> for <c>@</c>, <c>%3A</c> for <c>:</c>); <c>redis://:password@host</c> gives a
    /// password without a user.
    /// </summary>
    /// <exception cref="FormatException">The URL is not of that form. The message never contains the password.</exception>
    public static RedisEndpoint Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? string.Empty : url[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("redis" or "rediss"))
        {
            throw new FormatException(
                "A Redis URL must start with redis:// or rediss:// (TLS), as in redis://user:password@host:6379/0.");
        }

        // The error messages below describe the problem instead of quoting the URL, which may hold a password.
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

        return new RedisEndpoint(uri.IdnHost, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port)
        {
            User = user,
            Password = password,
            Database = database,
            UseTls = scheme == "rediss",
        };
    }

    /// <summary>The endpoint as a URL with the password masked as <c>***</c>, safe to log.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(UseTls ? "rediss://" : "redis://");
        if (User is not null || Password is not null)
        {
            if (User is not null)
            {
                builder.Append(Uri.EscapeDataString(User));
            }

            if (Password is not null)
            {
                builder.Append(":***");
            }

            builder.Append('@');
        }

        builder.Append(Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host);
        builder.Append(CultureInfo.InvariantCulture, $":{Port}/{Database}");
        return builder.ToString();
    }
}
