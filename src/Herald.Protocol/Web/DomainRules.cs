using System.Text.Json;

namespace Herald.Protocol.Web;

/// <summary>
/// Which origins a widget may run on. A pattern is a host (<c>shop.example.com</c>), a host with a port
/// (<c>localhost:3000</c>, that port only), or a wildcard for subdomains (<c>*.example.com</c>, not the apex).
/// A pattern without a port allows any port. Comparison is case-insensitive.
/// </summary>
public static class DomainRules
{
    public const int MaxDomains = 50;

    /// <summary>Normalises and validates patterns; returns an error text for the first bad one.</summary>
    public static (IReadOnlyList<string>? Domains, string? Error) Normalize(IEnumerable<string?>? patterns)
    {
        var result = new List<string>();
        foreach (var raw in patterns ?? [])
        {
            var pattern = raw?.Trim().ToLowerInvariant() ?? "";
            if (!IsValidPattern(pattern))
            {
                return (null, $"'{Sanitize(pattern)}' is not a domain: use host, host:port or *.host (letters, digits, '-' and '.').");
            }

            if (!result.Contains(pattern))
            {
                result.Add(pattern);
            }
        }

        return result.Count > MaxDomains ? (null, $"At most {MaxDomains} domains.") : (result, null);
    }

    /// <summary>Does <paramref name="domain"/> (<c>host[:port]</c>) match one of <paramref name="patterns"/>?</summary>
    public static bool Matches(string domain, IEnumerable<string> patterns, bool allowLocalhost)
    {
        var (host, port) = Split(domain.ToLowerInvariant());
        if (allowLocalhost && host is "localhost" or "127.0.0.1" or "[::1]")
        {
            return true;
        }

        foreach (var pattern in patterns)
        {
            var (patternHost, patternPort) = Split(pattern);
            if (patternPort is not null && patternPort != port)
            {
                continue;
            }

            if (patternHost.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(patternHost[1..], StringComparison.Ordinal) && host.Length > patternHost.Length - 1
                : host == patternHost)
            {
                return true;
            }
        }

        return false;
    }

    public static IReadOnlyList<string> Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<string[]>(json) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    public static string ToJson(IReadOnlyList<string> domains) => JsonSerializer.Serialize(domains);

    private static (string Host, string? Port) Split(string domain)
    {
        var colon = domain.LastIndexOf(':');
        return colon > 0 && !domain.EndsWith(']') ? (domain[..colon], domain[(colon + 1)..]) : (domain, null);
    }

    private static bool IsValidPattern(string pattern)
    {
        if (pattern.Length is 0 or > 260)
        {
            return false;
        }

        var (host, port) = Split(pattern);
        if (port is not null && (!int.TryParse(port, System.Globalization.NumberStyles.None, null, out var p) || p is < 1 or > 65535))
        {
            return false;
        }

        if (host.StartsWith("*.", StringComparison.Ordinal))
        {
            host = host[2..];
        }

        return host.Length > 0 && host.Split('.').All(label => label.Length is > 0 and <= 63
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') && label[0] != '-' && label[^1] != '-');
    }

    private static string Sanitize(string value) =>
        new(value.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
