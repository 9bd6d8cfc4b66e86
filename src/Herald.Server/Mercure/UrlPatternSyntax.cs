using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Server.Mercure;

/// <summary>
/// WHATWG URL Pattern strings (Mercure 1.0's <c>match_urlpattern</c>) turned into one anchored regex over the whole URL:
/// named groups <c>:id</c> (one path segment, or one host label before the path), custom groups <c>:id(news|alerts)</c>
/// and <c>(…)</c>, the wildcard <c>*</c>, groups <c>{…}</c> and the modifiers <c>?</c>, <c>*</c>, <c>+</c> (a
/// segment made optional takes its leading <c>/</c> with it, as URL Pattern does). A pattern that names no search
/// (<c>?…</c>) or hash (<c>#…</c>) accepts any, as URL Pattern's constructor string leaves them wildcards.
/// </summary>
/// <remarks>
/// Not covered, documented in docs/mercure.md: per-component canonicalisation (default ports, IDNA hosts, percent
/// encoding): the pattern is compared with the topic as written, except that relative ones are resolved first.
/// </remarks>
internal static class UrlPatternSyntax
{
    /// <summary>A pattern or topic starting with <c>/</c> is relative to the hub's URL: its origin is put in front.</summary>
    public static string Resolve(string value, string hubUrl)
    {
        if (value.StartsWith('/') && !value.StartsWith("//", StringComparison.Ordinal)
            && Uri.TryCreate(hubUrl, UriKind.Absolute, out var hub))
        {
            return hub.GetLeftPart(UriPartial.Authority) + value;
        }

        return value;
    }

    public static string ToRegex(string pattern) => "^" + Body(pattern, out var searchGiven) + (searchGiven ? "" : @"(?:\?[^#]*)?(?:#.*)?") + "$";

    private static string Body(string pattern, out bool searchGiven)
    {
        var scheme = pattern.IndexOf("://", StringComparison.Ordinal);
        // Where the path starts: before it, a named group stands for one host label; after it, one path segment.
        var pathStart = scheme < 0 ? 0 : pattern.IndexOf('/', scheme + 3) is var slash and >= 0 ? slash : pattern.Length;
        var parts = new List<string>();
        searchGiven = false;
        var i = 0;
        while (i < pattern.Length)
        {
            var c = pattern[i];
            string part;
            if (c == '\\')
            {
                if (i + 1 >= pattern.Length)
                {
                    throw new FormatException("A URL pattern ends with a lone '\\'.");
                }

                part = Regex.Escape(pattern[i + 1].ToString());
                i += 2;
            }
            else if (c == ':' && i + 1 < pattern.Length && IsNameStart(pattern[i + 1]))
            {
                var end = i + 1;
                while (end < pattern.Length && IsNamePart(pattern[end]))
                {
                    end++;
                }

                i = end;
                part = i < pattern.Length && pattern[i] == '('
                    ? "(" + CustomRegex(pattern, ref i) + ")"
                    : i <= pathStart && scheme >= 0 ? @"([^./:]+)" : @"([^/?#]+)";
            }
            else if (c == '(')
            {
                part = "(" + CustomRegex(pattern, ref i) + ")";
            }
            else if (c == '*')
            {
                part = "(.*)";
                i++;
            }
            else if (c == '{')
            {
                var close = pattern.IndexOf('}', i + 1);
                if (close < 0)
                {
                    throw new FormatException("A URL pattern group is not closed: '{' without '}'.");
                }

                part = "(?:" + Body(pattern[(i + 1)..close], out var inner) + ")";
                searchGiven |= inner;
                i = close + 1;
            }
            else
            {
                searchGiven |= c == '?' || c == '#';
                part = Regex.Escape(c.ToString());
                i++;
            }

            if (i < pattern.Length && pattern[i] is '?' or '*' or '+' && !IsLiteral(part))
            {
                var modifier = pattern[i];
                i++;
                // "/:tail?" makes the segment, slash included, optional (URL Pattern's prefix rule).
                if (modifier != '+' && parts.Count > 0 && parts[^1] == "/")
                {
                    parts[^1] = "";
                    part = $"(?:/{part}){modifier}";
                }
                else
                {
                    part = $"(?:{part}){modifier}";
                }
            }

            parts.Add(part);
        }

        var regex = new StringBuilder();
        foreach (var part in parts)
        {
            regex.Append(part);
        }

        return regex.ToString();
    }

    // A literal character (escaped by Regex.Escape): a '?' after it starts the search, it is no modifier.
    private static bool IsLiteral(string part) => !part.StartsWith('(');

    // "(…)" with nested parentheses and escapes; the body is the user's regex, run by the non-backtracking engine.
    private static string CustomRegex(string pattern, ref int i)
    {
        var depth = 0;
        var start = i + 1;
        for (; i < pattern.Length; i++)
        {
            switch (pattern[i])
            {
                case '\\':
                    i++;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    if (depth == 0)
                    {
                        var body = pattern[start..i];
                        i++;
                        if (body.Length == 0)
                        {
                            throw new FormatException("A URL pattern has an empty regular expression group '()'.");
                        }

                        return body;
                    }

                    break;
            }
        }

        throw new FormatException("A URL pattern's regular expression group is not closed: '(' without ')'.");
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c is '_' or '$';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$';
}
