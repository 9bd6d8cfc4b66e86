using System.Globalization;
using System.Net;
using System.Text;

namespace Herald.Bench.Report;

/// <summary>
/// The comparison as one SVG, written by hand (no chart library): S3 latency percentiles per target on a log
/// scale, S2's best sustained deliveries/s, S1's memory per idle connection. Bars a target did not run are left
/// out; zero-height bars say "n/a".
/// </summary>
internal static class CompareChart
{
    private const int Width = 1040;
    private const int Height = 470;
    private const int PlotTop = 100;
    private const int PlotBottom = 390;

    private static readonly Dictionary<string, string> Colors = new(StringComparer.Ordinal)
    {
        ["herald"] = "#2563eb",
        ["herald-mercure"] = "#0891b2",
        ["nchan"] = "#16a34a",
        ["signalr"] = "#9333ea",
    };

    private static readonly (string Label, string Key)[] Percentiles = [("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p999_us")];

    public static string Render(List<ScenarioResult> results, string[] targets, string footnote)
    {
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" viewBox="0 0 {Width} {Height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">""").Append('\n');
        svg.Append(CultureInfo.InvariantCulture, $"""<rect width="{Width}" height="{Height}" fill="#ffffff"/>""").Append('\n');
        Text(svg, 20, 28, "Herald vs Nchan vs ASP.NET Core SignalR — same load generator, same run", 16, "start", "bold");
        var x = 20;
        foreach (var target in targets)
        {
            svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x}" y="42" width="12" height="12" fill="{Color(target)}"/>""").Append('\n');
            Text(svg, x + 17, 52, target, 12, "start");
            x += Math.Max(90, 30 + (target.Length * 7));
        }

        LatencyPanel(svg, results, targets, 20, 500);
        BarPanel(svg, results, targets, 560, 220, "S2 broadcast: deliveries/s", "best step with p99 < 100 ms, 0 lost", "s2",
            r => CompareRunner.Number(r.Json, "best_deliveries_per_second"), v => Compact(v));
        BarPanel(svg, results, targets, 810, 210, "S1 idle: RSS per connection", "KB (lower is better)", "s1",
            r => CompareRunner.Number(r.Json, "rss_per_connection_bytes") / 1024, v => v.ToString("F1", CultureInfo.InvariantCulture));
        Text(svg, 20, Height - 14, footnote, 10, "start", fill: "#555555");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    // Grouped bars: one group per percentile, one bar per target; log scale in ms, whole decades.
    private static void LatencyPanel(StringBuilder svg, List<ScenarioResult> results, string[] targets, int left, int width)
    {
        Text(svg, left, 80, "S3 chat: publish → receive latency", 13, "start", "bold");
        Text(svg, left, 94, "ms, log scale (lower is better)", 11, "start", fill: "#555555");
        var values = targets.ToDictionary(t => t, t => CompareRunner.Find(results, "s3", t) is { } r
            ? Percentiles.Select(p => CompareRunner.Number(r.Json, "latency", p.Key) / 1000).ToArray()
            : new double?[Percentiles.Length]);
        var all = values.Values.SelectMany(v => v).OfType<double>().Where(v => v > 0).ToList();
        var low = all.Count == 0 ? -1 : Math.Floor(Math.Log10(all.Min()));
        var high = all.Count == 0 ? 3 : Math.Max(low + 1, Math.Ceiling(Math.Log10(all.Max())));
        var axis = left + 40;
        var plotWidth = width - 50;
        double Y(double ms) => PlotBottom - ((Math.Log10(ms) - low) / (high - low) * (PlotBottom - PlotTop));
        for (var decade = low; decade <= high; decade++)
        {
            var y = Y(Math.Pow(10, decade));
            Line(svg, axis, y, axis + plotWidth, y, "#e5e7eb");
            Text(svg, axis - 6, y + 4, FormatMs(Math.Pow(10, decade)), 11, "end");
        }

        Line(svg, axis, PlotBottom, axis + plotWidth, PlotBottom, "#333333");
        var group = plotWidth / (double)Percentiles.Length;
        var bar = Math.Min(36, (group - 20) / Math.Max(1, targets.Length));
        for (var p = 0; p < Percentiles.Length; p++)
        {
            var start = axis + (p * group) + ((group - (bar * targets.Length)) / 2);
            for (var t = 0; t < targets.Length; t++)
            {
                var bx = start + (t * bar);
                if (values[targets[t]][p] is { } ms && ms > 0)
                {
                    var y = Math.Min(PlotBottom, Y(Math.Max(ms, Math.Pow(10, low))));
                    Rect(svg, bx + 1, y, bar - 2, PlotBottom - y, Color(targets[t]));
                    Text(svg, bx + (bar / 2), y - 4, FormatMs(ms), 9, "middle");
                }
                else
                {
                    Text(svg, bx + (bar / 2), PlotBottom - 4, "n/a", 9, "middle", fill: "#999999");
                }
            }

            Text(svg, axis + (p * group) + (group / 2), PlotBottom + 18, Percentiles[p].Label, 12, "middle");
        }
    }

    // One bar per target, linear scale from zero.
    private static void BarPanel(StringBuilder svg, List<ScenarioResult> results, string[] targets, int left, int width, string title, string subtitle,
        string scenario, Func<ScenarioResult, double?> read, Func<double, string> format)
    {
        Text(svg, left, 80, title, 13, "start", "bold");
        Text(svg, left, 94, subtitle, 11, "start", fill: "#555555");
        var values = targets.Select(t => CompareRunner.Find(results, scenario, t) is { } r ? read(r) : null).ToArray();
        var max = values.OfType<double>().DefaultIfEmpty(0).Max();
        var top = NiceCeiling(max);
        var axis = left + 45;
        var plotWidth = width - 55;
        double Y(double v) => PlotBottom - (v / top * (PlotBottom - PlotTop - 10));
        for (var i = 0; i <= 4; i++)
        {
            var v = top * i / 4;
            Line(svg, axis, Y(v), axis + plotWidth, Y(v), i == 0 ? "#333333" : "#e5e7eb");
            Text(svg, axis - 6, Y(v) + 4, format(v), 11, "end");
        }

        var slot = plotWidth / (double)Math.Max(1, targets.Length);
        var bar = Math.Min(44, slot - 14);
        for (var t = 0; t < targets.Length; t++)
        {
            var bx = axis + (t * slot) + ((slot - bar) / 2);
            if (values[t] is { } v && v > 0)
            {
                Rect(svg, bx, Y(v), bar, PlotBottom - Y(v), Color(targets[t]));
                Text(svg, bx + (bar / 2), Y(v) - 4, format(v), 10, "middle");
            }
            else
            {
                Text(svg, bx + (bar / 2), PlotBottom - 4, values[t] is null ? "n/a" : "0", 9, "middle", fill: "#999999");
            }

            Text(svg, bx + (bar / 2), PlotBottom + 18, targets[t], 11, "middle");
        }
    }

    private static double NiceCeiling(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1.0, 2.0, 2.5, 5.0, 10.0 })
        {
            if (step * magnitude >= value)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Compact(double v) => v switch
    {
        >= 1_000_000 => (v / 1_000_000).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (v / 1_000).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("0", CultureInfo.InvariantCulture),
    };

    private static string FormatMs(double ms) => ms switch
    {
        >= 100 => ms.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => ms.ToString("0.#", CultureInfo.InvariantCulture),
        >= 1 => ms.ToString("0.##", CultureInfo.InvariantCulture),
        _ => ms.ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static string Color(string target) => Colors.GetValueOrDefault(target, "#6b7280");

    private static void Rect(StringBuilder svg, double x, double y, double w, double h, string fill) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<rect x="{x:0.#}" y="{y:0.#}" width="{w:0.#}" height="{h:0.#}" fill="{fill}"/>""").Append('\n');

    private static void Line(StringBuilder svg, double x1, double y1, double x2, double y2, string stroke) =>
        svg.Append(CultureInfo.InvariantCulture, $"""<line x1="{x1:0.#}" y1="{y1:0.#}" x2="{x2:0.#}" y2="{y2:0.#}" stroke="{stroke}" stroke-width="1"/>""").Append('\n');

    private static void Text(StringBuilder svg, double x, double y, string text, int size, string anchor, string weight = "normal", string fill = "#111111") =>
        svg.Append(CultureInfo.InvariantCulture, $"""<text x="{x:0.#}" y="{y:0.#}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" fill="{fill}">{WebUtility.HtmlEncode(text)}</text>""").Append('\n');
}
