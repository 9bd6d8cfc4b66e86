using System.Globalization;

namespace Herald.Protocol.Web;

/// <summary>
/// An http(s) origin, <c>scheme://host[:port]</c>, parsed strictly from an <c>Origin</c> header (or the start of a
/// <c>Referer</c>). Anything else — <c>null</c>, other schemes (<c>chrome-extension:</c>, <c>file:</c>), a path,
/// user info, control or non-ASCII characters — is not an origin, and Herald treats it as not allowed.
/// </summary>
/// <remarks>
/// Only <see cref="Serialized"/> is ever written to a response header, never the request's own bytes: Kestrel
/// throws on a control or non-ASCII character in a response header, which turned such an Origin into a 500.
/// </remarks>
public sealed record WebOrigin(string Scheme, string Host, int Port)
{
    private const int MaxLength = 300;

    /// <summary>The browser's serialisation: lowercase, the default port left out. What CORS echoes.</summary>
    public string Serialized => IsDefaultPort ? $"{Scheme}://{Host}" : $"{Scheme}://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary><c>host[:port]</c> (no default port), the form domain patterns are matched against.</summary>
    public string Domain => IsDefaultPort ? Host : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    private bool IsDefaultPort => Port == (Scheme == "https" ? 443 : 80);

    /// <summary>Parses an <c>Origin</c> header value: exactly <c>scheme://host[:port]</c>, nothing after it.</summary>
    public static WebOrigin? TryParse(string? value) => TryParse(value, allowPath: false);

    /// <summary>The origin of a <c>Referer</c> (an absolute http(s) URL; its path, query and fragment are ignored).</summary>
    public static WebOrigin? TryParseUrl(string? value) => TryParse(value, allowPath: true);

    private static WebOrigin? TryParse(string? value, bool allowPath)
    {
        if (string.IsNullOrEmpty(value) || value.Length > (allowPath ? 8 * 1024 : MaxLength))
        {
            return null;
        }

        foreach (var c in value)
        {
            // Printable ASCII only: no control characters, no spaces, nothing a header could not carry back out.
            if (c is <= ' ' or > '~')
            {
                return null;
            }
        }

        var schemeEnd = value.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? "" : value[..schemeEnd].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            return null;
        }

        var rest = value.AsSpan(schemeEnd + 3);
        var end = rest.IndexOfAny('/', '?', '#');
        if (end >= 0)
        {
            if (!allowPath)
            {
                return null;
            }

            rest = rest[..end];
        }

        return ParseAuthority(scheme, rest);
    }

    private static WebOrigin? ParseAuthority(string scheme, ReadOnlySpan<char> authority)
    {
        var defaultPort = scheme == "https" ? 443 : 80;
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port;
        if (authority.StartsWith("["))
        {
            // An IPv6 literal: [hex:hex...], optionally followed by :port.
            var close = authority.IndexOf(']');
            if (close < 0 || !IsIpv6Literal(authority[1..close]))
            {
                return null;
            }

            host = authority[..(close + 1)];
            port = authority[(close + 1)..];
            if (!port.IsEmpty && port[0] != ':')
            {
                return null;
            }
        }
        else
        {
            var colon = authority.IndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? [] : authority[colon..];
            if (!IsHostName(host))
            {
                return null;
            }
        }

        var number = defaultPort;
        if (!port.IsEmpty && (port.Length is < 2 or > 6 || !int.TryParse(port[1..], NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            return null;
        }

        return new WebOrigin(scheme, host.ToString().ToLowerInvariant(), number);
    }

    // DNS labels (letters, digits, '-', not at either end) or a dotted IPv4 address, which has the same alphabet.
    private static bool IsHostName(ReadOnlySpan<char> host)
    {
        if (host.IsEmpty || host.Length > 253)
        {
            return false;
        }

        foreach (var range in host.Split('.'))
        {
            var label = host[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool IsIpv6Literal(ReadOnlySpan<char> address)
    {
        if (address.Length is < 2 or > 45)
        {
            return false;
        }

        foreach (var c in address)
        {
            if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
            {
                return false;
            }
        }

        return System.Net.IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
    }
}
