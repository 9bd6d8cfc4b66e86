using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Herald.Bench.Load;

namespace Herald.Bench.Report;

/// <summary>One scenario's figures: readable rows, an optional table (S2 steps), target checks, and JSON.</summary>
internal sealed class ScenarioResult(string name, string title)
{
    public string Name { get; } = name;

    public string Title { get; } = title;

    /// <summary>The target it ran against (<c>herald</c>, <c>nchan</c>, <c>signalr</c>).</summary>
    public string Target { get; set; } = "herald";

    /// <summary>What the target was, for the report.</summary>
    public string TargetDescription { get; set; } = "";

    public List<(string Label, string Value)> Rows { get; } = [];

    public List<string[]> Table { get; } = [];

    public List<TargetCheck> Checks { get; } = [];

    public JsonObject Json { get; } = new();

    public List<string> Notes { get; } = [];

    public void Row(string label, string value) => Rows.Add((label, value));

    public void Set(string key, JsonNode? value) => Json[key] = value;

    public static string F(double value, int decimals = 1) => value.ToString("N" + decimals, CultureInfo.InvariantCulture);

    public static string Ms(long micros) => (micros / 1000.0).ToString(micros < 10_000 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    /// <summary>Percentiles in ms for the table, and the same in µs for the JSON.</summary>
    public void Latency(string label, string key, LatencyHistogram h)
    {
        Row(label, h.Count == 0
            ? "no samples"
            : $"p50 {Ms(h.Percentile(50))}  p90 {Ms(h.Percentile(90))}  p99 {Ms(h.Percentile(99))}  p99.9 {Ms(h.Percentile(99.9))}  max {Ms(h.Max)} ms  (n={h.Count:N0})");
        Json[key] = LatencyJson(h);
    }

    public static JsonObject LatencyJson(LatencyHistogram h) => new()
    {
        ["count"] = h.Count,
        ["p50_us"] = h.Percentile(50),
        ["p90_us"] = h.Percentile(90),
        ["p99_us"] = h.Percentile(99),
        ["p999_us"] = h.Percentile(99.9),
        ["max_us"] = h.Max,
    };

    public string Render()
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"== {Name} [{Target}]: {Title}");
        if (TargetDescription.Length > 0)
        {
            sb.AppendLine($"  {TargetDescription}");
        }

        var width = Rows.Count == 0 ? 0 : Rows.Max(r => r.Label.Length);
        foreach (var (label, value) in Rows)
        {
            sb.AppendLine($"  {label.PadRight(width)}  {value}");
        }

        if (Table.Count > 0)
        {
            sb.AppendLine();
            AppendTable(sb, Table, "  ");
        }

        foreach (var note in Notes)
        {
            sb.AppendLine($"  note: {note}");
        }

        return sb.ToString();
    }

    public static void AppendTable(StringBuilder sb, List<string[]> table, string indent)
    {
        var widths = new int[table.Max(r => r.Length)];
        foreach (var row in table)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        for (var r = 0; r < table.Count; r++)
        {
            sb.Append(indent);
            for (var i = 0; i < table[r].Length; i++)
            {
                // Text left, numbers right.
                var cell = table[r][i];
                var numeric = r > 0 && cell.Length > 0 && (char.IsDigit(cell[0]) || cell[0] == '-');
                sb.Append(numeric ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
                sb.Append(i + 1 < table[r].Length ? "  " : "");
            }

            sb.AppendLine();
            if (r == 0)
            {
                sb.Append(indent).AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
            }
        }
    }
}
