using System.Globalization;
using System.Text.RegularExpressions;

namespace Herald.Server.Tests.Infrastructure;

/// <summary>
/// One scrape of <c>/metrics</c>, parsed and validated against the Prometheus text format 0.0.4: every sample
/// belongs to a family whose <c># TYPE</c> came first, names and labels are well formed, values are numbers.
/// </summary>
public sealed partial class MetricsScrape
{
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    private MetricsScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.True(parts.Length == 4 && parts[3] is "counter" or "gauge" or "histogram", $"bad TYPE line: {line}");
                Assert.True(_types.TryAdd(parts[2], parts[3]), $"family declared twice: {line}");
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a valid sample line: {line}");
            var name = match.Groups["name"].Value;
            var family = _types.ContainsKey(name) ? name : FamilySuffix().Replace(name, "");
            Assert.True(_types.ContainsKey(family), $"sample before its # TYPE: {line}");
            var raw = match.Groups["value"].Value;
            var value = raw switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.True(_samples.TryAdd(name + match.Groups["labels"].Value, value), $"duplicate series: {line}");
        }
    }

    public string Text { get; }

    public static async Task<MetricsScrape> ReadAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return new MetricsScrape(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The value of a series written exactly as exposed (labels sorted by name), or 0 when absent.</summary>
    public double this[string series] => _samples.GetValueOrDefault(series);

    public bool Has(string series) => _samples.ContainsKey(series);

    public bool HasFamily(string name) => _types.ContainsKey(name);

    public string? TypeOf(string family) => _types.GetValueOrDefault(family);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex FamilySuffix();
}
