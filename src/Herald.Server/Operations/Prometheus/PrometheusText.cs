using System.Globalization;
using System.Text;

namespace Herald.Server.Operations.Prometheus;

/// <summary>
/// Names, labels and numbers of the Prometheus text format 0.0.4, following the OpenTelemetry-to-Prometheus
/// conventions: dots become underscores, the unit becomes a suffix (<c>ms</c> → <c>_milliseconds</c>), counters end
/// in <c>_total</c>.
/// </summary>
internal static class PrometheusText
{
    /// <summary><c>herald.delivery.latency</c> + <c>ms</c> → <c>herald_delivery_latency_milliseconds</c>.</summary>
    public static string MetricName(string instrument, string? unit, bool counter)
    {
        var name = Sanitize(instrument, allowColon: true);
        if (UnitSuffix(unit) is { } suffix && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }

        if (counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        return name;
    }

    /// <summary>"Metric names may contain ASCII letters and digits, as well as underscores and colons" and not start with a digit.</summary>
    public static string Sanitize(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    /// <summary>HELP text: "backslash and line feed characters have to be escaped as \\ and \n".</summary>
    public static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Appends <c>{labels,le="x"}</c>, or nothing when there are neither.</summary>
    public static void AppendLabels(StringBuilder text, string labels, string? le)
    {
        if (labels.Length == 0 && le is null)
        {
            return;
        }

        text.Append('{').Append(labels);
        if (le is not null)
        {
            text.Append(labels.Length > 0 ? ",le=\"" : "le=\"").Append(le).Append('"');
        }

        text.Append('}');
    }

    /// <summary>Go's ParseFloat reads these, including <c>+Inf</c>, <c>-Inf</c> and <c>NaN</c>.</summary>
    public static string FormatDouble(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Renders tags as a label block body (<c>a="x",b="y"</c>), sorted by name so one tag set always gives one key.
    /// False when <paramref name="destination"/> is too small.
    /// </summary>
    public static bool TryRenderLabels(ReadOnlySpan<KeyValuePair<string, object?>> tags, Span<char> destination, out int written)
    {
        written = 0;
        if (tags.IsEmpty)
        {
            return true;
        }

        Span<int> order = tags.Length <= 16 ? stackalloc int[tags.Length] : new int[tags.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Insertion sort: tag sets are a handful of entries.
        for (var i = 1; i < order.Length; i++)
        {
            var current = order[i];
            var j = i - 1;
            while (j >= 0 && string.CompareOrdinal(tags[order[j]].Key, tags[current].Key) > 0)
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = current;
        }

        var position = 0;
        for (var i = 0; i < order.Length; i++)
        {
            var tag = tags[order[i]];
            if (i > 0 && !TryAppend(destination, ref position, ","))
            {
                return false;
            }

            if (!TryAppendLabelName(destination, ref position, tag.Key) || !TryAppend(destination, ref position, "=\"")
                || !TryAppendLabelValue(destination, ref position, tag.Value) || !TryAppend(destination, ref position, "\""))
            {
                return false;
            }
        }

        written = position;
        return true;
    }

    private static string? UnitSuffix(string? unit) => unit switch
    {
        null or "" or "1" => null,
        "ms" => "milliseconds",
        "s" => "seconds",
        "us" => "microseconds",
        "By" => "bytes",
        _ when unit.StartsWith('{') => null, // an annotation such as {connection}: no unit
        _ => Sanitize(unit, allowColon: false),
    };

    private static bool TryAppend(Span<char> destination, ref int position, ReadOnlySpan<char> text)
    {
        if (!text.TryCopyTo(destination[position..]))
        {
            return false;
        }

        position += text.Length;
        return true;
    }

    // "Label names may contain ASCII letters, numbers, as well as underscores", not starting with a digit.
    private static bool TryAppendLabelName(Span<char> destination, ref int position, string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            if (!TryAppend(destination, ref position, "_"))
            {
                return false;
            }
        }

        foreach (var c in name)
        {
            if (position >= destination.Length)
            {
                return false;
            }

            destination[position++] = char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_';
        }

        return true;
    }

    // "label_value can be any sequence of UTF-8 characters, but the backslash (\), double-quote ("), and line feed
    // (\n) characters have to be escaped as \\, \", and \n, respectively."
    private static bool TryAppendLabelValue(Span<char> destination, ref int position, object? value)
    {
        scoped ReadOnlySpan<char> text;
        Span<char> formatted = stackalloc char[64];
        switch (value)
        {
            case null:
                return true;
            case string s:
                text = s;
                break;
            case bool b:
                text = b ? "true" : "false";
                break;
            case ISpanFormattable f when f.TryFormat(formatted, out var n, default, CultureInfo.InvariantCulture):
                text = formatted[..n];
                break;
            default:
                text = value.ToString();
                break;
        }

        foreach (var c in text)
        {
            var escaped = c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                _ => null,
            };
            if (escaped is not null)
            {
                if (!TryAppend(destination, ref position, escaped))
                {
                    return false;
                }
            }
            else
            {
                if (position >= destination.Length)
                {
                    return false;
                }

                destination[position++] = c;
            }
        }

        return true;
    }
}
