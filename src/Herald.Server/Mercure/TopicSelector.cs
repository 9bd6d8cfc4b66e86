using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Herald.Server.Mercure;

/// <summary>How a selector's pattern is read.</summary>
public enum SelectorKind
{
    /// <summary>Byte-for-byte equality (<c>match=</c>, <c>match_exact=</c>, a 1.0 grant without <c>match_type</c>).</summary>
    Exact,

    /// <summary>Mercure 0.x (<c>topic=</c>, the <c>mercure</c> claim): equality, or an RFC 6570 URI template that matches.</summary>
    UriTemplate,

    /// <summary>A WHATWG URL Pattern (<c>match_urlpattern=</c>, <c>"match_type": "urlpattern"</c>).</summary>
    UrlPattern,
}

/// <summary>
/// One topic selector of a subscription or a grant. <c>*</c> matches every topic whatever the kind (the draft reserves
/// it). Compiled selectors are shared between subscribers: the same few selectors are sent by every page of an app,
/// and a compiled non-backtracking regex costs far more than the string that names it.
/// </summary>
public sealed class TopicSelector
{
    /// <summary>Longest pattern accepted (a URL Pattern is compiled to a regex; the draft asks hubs to bound both).</summary>
    public const int MaxPatternLength = 2048;

    private const int MaxCached = 10_000;

    private static readonly ConcurrentDictionary<(SelectorKind, string, string), TopicSelector> Cache = new();

    private readonly Regex? _regex;

    private TopicSelector(SelectorKind kind, string pattern, Regex? regex)
    {
        Kind = kind;
        Pattern = pattern;
        _regex = regex;
        IsWildcard = pattern == "*";
    }

    public SelectorKind Kind { get; }

    public string Pattern { get; }

    public bool IsWildcard { get; }

    /// <summary>
    /// Compiles <paramref name="pattern"/>; <paramref name="hubUrl"/> (the absolute URL of <c>/.well-known/mercure</c>)
    /// resolves relative URL patterns and topics. Throws <see cref="FormatException"/> for a pattern its kind rejects.
    /// </summary>
    public static TopicSelector Parse(SelectorKind kind, string pattern, string hubUrl)
    {
        if (pattern.Length > MaxPatternLength)
        {
            throw new FormatException($"A selector is at most {MaxPatternLength} characters.");
        }

        var key = (kind, pattern, kind == SelectorKind.UrlPattern ? hubUrl : "");
        if (Cache.TryGetValue(key, out var known))
        {
            return known;
        }

        Regex? regex = null;
        if (pattern != "*")
        {
            regex = kind switch
            {
                SelectorKind.UriTemplate when pattern.Contains('{', StringComparison.Ordinal) => Compile(UriTemplatePattern.ToRegex(pattern)),
                SelectorKind.UrlPattern => Compile(UrlPatternSyntax.ToRegex(UrlPatternSyntax.Resolve(pattern, hubUrl))),
                _ => null,
            };
        }

        var selector = new TopicSelector(kind, pattern, regex);
        if (Cache.Count >= MaxCached)
        {
            Cache.Clear();
        }

        Cache[key] = selector;
        return selector;
    }

    /// <summary>Does <paramref name="topic"/> match? <paramref name="hubUrl"/> resolves a relative topic for URL patterns.</summary>
    public bool Matches(string topic, string hubUrl)
    {
        if (IsWildcard)
        {
            return true;
        }

        switch (Kind)
        {
            case SelectorKind.Exact:
                return string.Equals(Pattern, topic, StringComparison.Ordinal);
            case SelectorKind.UriTemplate:
                return string.Equals(Pattern, topic, StringComparison.Ordinal) || (_regex is not null && IsMatch(_regex, topic));
            default:
                return IsMatch(_regex!, UrlPatternSyntax.Resolve(topic, hubUrl));
        }
    }

    /// <summary>Does any of <paramref name="selectors"/> match any of <paramref name="topics"/>?</summary>
    public static bool AnyMatches(IReadOnlyList<TopicSelector> selectors, IReadOnlyList<string> topics, string hubUrl)
    {
        // Indexed, not foreach: this runs for every Mercure subscriber and every update (MercureView.Accepts), and
        // foreach over an IReadOnlyList boxes an enumerator per loop (~80 B per subscriber per update, 780 MB/s with
        // 10,000 subscribers at 1,000 updates/s: the bench's S3 through the hub, docs/benchmarks.md).
        for (var i = 0; i < selectors.Count; i++)
        {
            var selector = selectors[i];
            for (var j = 0; j < topics.Count; j++)
            {
                if (selector.Matches(topics[j], hubUrl))
                {
                    return true;
                }
            }
        }

        return false;
    }

    // Linear time whatever the pattern (the draft's URL-Pattern denial-of-service rule): no backtracking, and a bound
    // on top for the pathological sizes the non-backtracking engine still pays for. A timeout is "no match".
    private static Regex Compile(string regex)
    {
        try
        {
            return new Regex(regex, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("The selector's pattern is not valid: " + ex.Message, ex);
        }
        catch (NotSupportedException ex)
        {
            throw new FormatException("The selector uses a regular expression construct Herald does not run (backreferences, lookarounds): " + ex.Message, ex);
        }
    }

    private static bool IsMatch(Regex regex, string topic)
    {
        try
        {
            return regex.IsMatch(topic);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
