using System.Globalization;
using System.Text.Json.Nodes;
using Herald.Bench.Report;

namespace Herald.Bench.Load;

/// <summary>
/// A node's write path over a window, from two scrapes of its <c>/metrics</c>: the store histograms
/// <c>herald_store_write_batch_duration_milliseconds</c> (statements to commit, fsync included),
/// <c>herald_store_write_batch_size</c> and <c>herald_store_write_latency_milliseconds</c> (queued to committed).
/// Percentiles are bucket bounds ("p99 ≤ 40 ms"): the node keeps buckets, not samples.
/// </summary>
internal sealed class WriterMetrics
{
    private const string BatchDuration = "herald_store_write_batch_duration_milliseconds";
    private const string BatchSize = "herald_store_write_batch_size";
    private const string WriteLatency = "herald_store_write_latency_milliseconds";
    // ASP.NET Core's own request timing (seconds), for the publishing route only: the POST inside the node.
    private const string RequestDuration = "http_server_request_duration_seconds";

    /// <summary>The chat POST's route (S3, S4 on Herald's own endpoints).</summary>
    public const string ChatRoute = "/api/widget/dialogs/{id}/messages";

    /// <summary>The Mercure hub's route (S3 through <c>--via mercure</c>): its publish POST.</summary>
    public const string MercureRoute = "/.well-known/mercure/";

    private readonly Dictionary<string, Histogram> _histograms;
    private readonly string _post;

    private WriterMetrics(Dictionary<string, Histogram> histograms, string post)
    {
        _histograms = histograms;
        _post = post;
    }

    /// <param name="api">The node's API (its <c>/metrics</c>).</param>
    /// <param name="postRoute">The route whose request timing is "the POST inside the node": <see cref="ChatRoute"/> or <see cref="MercureRoute"/>.</param>
    public static async Task<WriterMetrics?> ScrapeAsync(HeraldApi api, string postRoute = ChatRoute)
    {
        try
        {
            var text = await api.GetTextAsync("/metrics");
            return new WriterMetrics(new Dictionary<string, Histogram>
            {
                [BatchDuration] = Histogram.Parse(text, BatchDuration),
                [BatchSize] = Histogram.Parse(text, BatchSize),
                [WriteLatency] = Histogram.Parse(text, WriteLatency),
                // The Mercure route also serves GET (the streams): only POSTs are the publish.
                [RequestDuration] = Histogram.Parse(text, RequestDuration, $"http_route=\"{postRoute}\"", "http_request_method=\"POST\""),
            }, postRoute == ChatRoute ? "the chat POST" : "the Mercure POST");
        }
        catch (HttpRequestException)
        {
            return null; // metrics switched off on the node
        }
    }

    /// <summary>Adds a row and a JSON object for what happened between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static void Report(ScenarioResult result, string label, string key, WriterMetrics? before, WriterMetrics? after)
    {
        if (Json(before, after) is not { } json)
        {
            return;
        }

        double F(string name) => json[name]!.GetValue<double>();
        result.Row(label, $"{F("batches"):N0} write batches of {F("writes_per_batch"):F1} writes on average; a batch (statements to commit) "
            + $"{F("batch_ms_mean"):F1} ms on average, p50 ≤ {F("batch_ms_p50_le")} ms, p99 ≤ {F("batch_ms_p99_le")} ms; "
            + $"a write, queued to committed: p50 ≤ {F("write_latency_ms_p50_le")} ms, p90 ≤ {F("write_latency_ms_p90_le")} ms, p99 ≤ {F("write_latency_ms_p99_le")} ms"
            + (json["post_in_node_ms_p50_le"] is null ? "" : $"; {after!._post} inside the node: p50 ≤ {F("post_in_node_ms_p50_le")} ms, p90 ≤ {F("post_in_node_ms_p90_le")} ms, p99 ≤ {F("post_in_node_ms_p99_le")} ms"));
        result.Set(key, json);
    }

    /// <summary>
    /// The window's figures as JSON (null when there is no window or no batch in it); <c>batch_ms_total</c> is the
    /// time the node's write batches took altogether, the share of the window its writer was inside a transaction.
    /// </summary>
    public static JsonObject? Json(WriterMetrics? before, WriterMetrics? after)
    {
        if (before is null || after is null)
        {
            return null;
        }

        var duration = after._histograms[BatchDuration].Minus(before._histograms[BatchDuration]);
        var size = after._histograms[BatchSize].Minus(before._histograms[BatchSize]);
        var latency = after._histograms[WriteLatency].Minus(before._histograms[WriteLatency]);
        var request = after._histograms[RequestDuration].Minus(before._histograms[RequestDuration]);
        if (duration.Count == 0)
        {
            return null;
        }

        return new JsonObject
        {
            ["batch_ms_total"] = Math.Round(duration.Sum, 1),
            ["batches"] = duration.Count,
            ["writes_per_batch"] = Math.Round(size.Sum / size.Count, 2),
            ["batch_ms_mean"] = Math.Round(duration.Sum / duration.Count, 2),
            ["batch_ms_p50_le"] = duration.Quantile(0.5),
            ["batch_ms_p99_le"] = duration.Quantile(0.99),
            ["batch_ms_max_le"] = duration.Quantile(1),
            ["write_latency_ms_p50_le"] = latency.Quantile(0.5),
            ["write_latency_ms_p90_le"] = latency.Quantile(0.9),
            ["write_latency_ms_p99_le"] = latency.Quantile(0.99),
            ["post_in_node_ms_p50_le"] = request.Count == 0 ? null : request.Quantile(0.5) * 1000,
            ["post_in_node_ms_p90_le"] = request.Count == 0 ? null : request.Quantile(0.9) * 1000,
            ["post_in_node_ms_p99_le"] = request.Count == 0 ? null : request.Quantile(0.99) * 1000,
        };
    }

    /// <summary>One Prometheus histogram: cumulative bucket counts by upper bound, sum and count.</summary>
    private sealed record Histogram(SortedDictionary<double, double> Buckets, double Sum, double Count)
    {
        /// <summary>The series of <paramref name="name"/> whose labels contain every one of <paramref name="labels"/>, added up.</summary>
        public static Histogram Parse(string text, string name, params string[] labels)
        {
            var buckets = new SortedDictionary<double, double>();
            double sum = 0, count = 0;
            foreach (var line in text.Split('\n'))
            {
                if (!labels.All(label => line.Contains(label, StringComparison.Ordinal)))
                {
                    continue;
                }

                if (line.StartsWith(name + "_bucket{", StringComparison.Ordinal))
                {
                    var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..];
                    le = le[..le.IndexOf('"')];
                    var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
                    buckets[bound] = buckets.GetValueOrDefault(bound) + Value(line);
                }
                else if (line.StartsWith(name + "_sum", StringComparison.Ordinal))
                {
                    sum += Value(line);
                }
                else if (line.StartsWith(name + "_count", StringComparison.Ordinal))
                {
                    count += Value(line);
                }
            }

            return new Histogram(buckets, sum, count);
        }

        public Histogram Minus(Histogram earlier) => new(
            new SortedDictionary<double, double>(Buckets.ToDictionary(b => b.Key, b => b.Value - earlier.Buckets.GetValueOrDefault(b.Key))),
            Sum - earlier.Sum, Count - earlier.Count);

        /// <summary>The upper bound of the bucket that holds quantile <paramref name="q"/> (infinity beyond the last).</summary>
        public double Quantile(double q)
        {
            var rank = q * Count;
            foreach (var (bound, cumulative) in Buckets)
            {
                if (cumulative >= rank)
                {
                    return bound;
                }
            }

            return double.PositiveInfinity;
        }

        private static double Value(string line) =>
            double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }
}
