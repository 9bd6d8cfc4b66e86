using System.Globalization;
using System.Text;

namespace Herald.Protocol.Diagnostics;

/// <summary>
/// Makes a value that came from outside (a header, a body, an upstream's answer, an exception message quoting
/// either) safe to put in a log line: wrap every such argument of a log call in <see cref="Sanitize"/>.
/// </summary>
/// <remarks>
/// A console or file sink writes a value as it is, so a CR or LF forges a line, an ANSI escape (ESC) recolours or
/// clears the operator's terminal, U+2028/U+2029 break lines in JSON and JavaScript log viewers, and bidi overrides
/// or zero-width characters hide text. Each such character becomes a visible <c>\uXXXX</c>: C0 controls (tab too),
/// DEL, C1 controls, U+2028/U+2029, format characters (Unicode category Cf) and unpaired surrogates. A backslash is
/// left as it is, so a literal "\u000A" in the input reads the same as an escaped LF; both are harmless on one line.
/// </remarks>
public static class LogValue
{
    /// <summary>Characters of input kept by default; the rest is left out with a count (an upstream body can be large).</summary>
    public const int MaxLength = 1024;

    /// <summary>
    /// <paramref name="value"/> with control and format characters escaped and cut at <paramref name="maxLength"/>
    /// characters of input; the same instance when nothing needed changing, so clean values cost a scan only.
    /// </summary>
    public static string Sanitize(string? value, int maxLength = MaxLength)
    {
        if (value is null)
        {
            return "";
        }

        var clean = 0;
        while (clean < value.Length && Width(value, clean) is var width and > 0 && clean + width <= maxLength)
        {
            clean += width;
        }

        if (clean == value.Length)
        {
            return value;
        }

        var builder = new StringBuilder(value, 0, clean, Math.Min(value.Length, maxLength) + 64);
        var i = clean;
        while (i < value.Length)
        {
            var width = Width(value, i);
            if (i + Math.Max(width, 1) > maxLength)
            {
                break;
            }

            if (width > 0)
            {
                builder.Append(value, i, width);
                i += width;
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)value[i]:X4}");
                i++;
            }
        }

        if (i < value.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"...({value.Length - i} more characters)");
        }

        return builder.ToString();
    }

    /// <returns>How many UTF-16 units the character at <paramref name="index"/> takes when it may be written as it is; 0 when it must be escaped.</returns>
    private static int Width(string value, int index)
    {
        var c = value[index];
        if (c is >= ' ' and < '\u007F')
        {
            return 1;
        }

        if (char.IsHighSurrogate(c))
        {
            // A pair is one character outside the BMP (an emoji, a CJK extension); only a lone half is escaped.
            return index + 1 < value.Length && char.IsLowSurrogate(value[index + 1]) ? 2 : 0;
        }

        return CharUnicodeInfo.GetUnicodeCategory(c) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate => 0,
            _ => 1,
        };
    }
}
