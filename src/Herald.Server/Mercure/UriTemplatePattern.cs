using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Server.Mercure;

/// <summary>
/// RFC 6570 URI templates (up to level 4) as Mercure 0.x matches them: a topic matches a template when some values
/// of its variables expand the template to that topic. The template becomes an anchored regex: literals stand for
/// themselves, each expression for its operator's prefix, separators, names and allowed characters.
/// </summary>
internal static class UriTemplatePattern
{
    // RFC 6570 §1.5: unreserved and pct-encoded; IRIs add every non-ASCII character (RFC 3987 ucschar).
    private const string Unreserved = @"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2}|[^\x00-\x7F])";
    private const string ReservedToo = @"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}|[^\x00-\x7F])";

    public static string ToRegex(string template)
    {
        var regex = new StringBuilder("^");
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0)
            {
                regex.Append(Regex.Escape(template[i..]));
                break;
            }

            regex.Append(Regex.Escape(template[i..open]));
            var close = template.IndexOf('}', open + 1);
            if (close < 0)
            {
                throw new FormatException("A URI template expression is not closed: '{' without '}'.");
            }

            regex.Append(Expression(template[(open + 1)..close]));
            i = close + 1;
        }

        return regex.Append('$').ToString();
    }

    // One {…}: RFC 6570 §3.2.1's table (first, sep, named, ifemp, allow) turned into a regex for its expansions.
    private static string Expression(string body)
    {
        if (body.Length == 0)
        {
            throw new FormatException("A URI template expression is empty: '{}'.");
        }

        var op = body[0];
        var (first, sep, named, ifEmptyEquals, reserved) = op switch
        {
            '+' => ("", ",", false, false, true),
            '#' => ("#", ",", false, false, true),
            '.' => (".", ".", false, false, false),
            '/' => ("/", "/", false, false, false),
            ';' => (";", ";", true, false, false),
            '?' => ("?", "&", true, true, false),
            '&' => ("&", "&", true, true, false),
            _ => ("", ",", false, false, false),
        };
        var varList = op is '+' or '#' or '.' or '/' or ';' or '?' or '&' ? body[1..] : body;
        var chars = reserved ? ReservedToo : Unreserved;
        var parts = new List<string>();
        foreach (var spec in varList.Split(','))
        {
            var explode = spec.EndsWith('*');
            var name = spec.TrimEnd('*');
            var colon = name.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                // A prefix modifier ({var:3}) only shortens the value; any value still matches.
                name = name[..colon];
            }

            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '%'))
            {
                throw new FormatException($"'{spec}' is not a URI template variable.");
            }

            // An exploded list or map repeats the separator (and, named, "name=") inside one variable's expansion.
            var value = explode ? $"(?:{chars}|{Regex.Escape(sep)}|=|,)*" : $"(?:{chars}|,)*";
            parts.Add(named
                ? Regex.Escape(name) + (ifEmptyEquals ? "=" + value : $"(?:={value})?")
                : value);
        }

        var one = parts.Count == 1 ? parts[0] : "(?:" + string.Join("|", parts) + ")";
        // Undefined variables are left out of the expansion, so every variable, and the whole expression, is optional.
        return $"(?:{Regex.Escape(first)}{one}(?:{Regex.Escape(sep)}{one})*)?";
    }
}
