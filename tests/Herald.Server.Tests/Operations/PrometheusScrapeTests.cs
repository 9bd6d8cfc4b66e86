using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Operations;

/// <summary>
/// The real thing judges <c>/metrics</c>: Debian's Prometheus scrapes a live node every second and its HTTP API
/// returns Herald's series; the shipped Grafana dashboard's queries run against that Prometheus and name only series
/// the node exports.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed partial class PrometheusScrapeTests : IAsyncLifetime
{
    private HeraldTestNode _node = null!;
    private PrometheusFixture _prometheus = null!;

    public async Task InitializeAsync()
    {
        _node = await HeraldTestNode.StartInProcessAsync();
        _prometheus = await PrometheusFixture.StartAsync(_node.BaseAddress);
    }

    public async Task DisposeAsync()
    {
        await _prometheus.DisposeAsync();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task Prometheus_ScrapesANode_AndStoresItsSeries()
    {
        var guest = await _node.OpenGuestDialogAsync("prometheus-guest");
        await using var sse = await SseTestClient.ConnectAsync(_node.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        for (var i = 0; i < 3; i++)
        {
            await _node.PostGuestMessageAsync(guest, $"m{i}");
        }

        await sse.TakeAsync(3);
        await _prometheus.WaitForScrapeAsync();

        // A scrape after the deliveries: the latency histogram has its observations.
        await WaitForAsync("sum(herald_delivery_latency_milliseconds_count) >= 3");
        var connections = await _prometheus.VectorAsync("herald_connections{job=\"herald\"}");
        Assert.Contains(connections, s => s.Labels["transport"] == "sse" && s.Value == 1);
        var sent = await _prometheus.VectorAsync("herald_deliveries_sent_total");
        Assert.True(Assert.Single(sent).Value >= 3, _prometheus.Output);
        var buckets = await _prometheus.VectorAsync("herald_delivery_latency_milliseconds_bucket");
        Assert.Contains(buckets, s => s.Labels["le"] == "+Inf" && s.Value >= 3);
        Assert.Contains(buckets, s => s.Labels["le"] == "2500");
        var p99 = await _prometheus.VectorAsync("histogram_quantile(0.99, sum by (le) (herald_delivery_latency_milliseconds_bucket))");
        Assert.True(Assert.Single(p99).Value is > 0 and <= 2500);
        Assert.Equal(1, Assert.Single(await _prometheus.VectorAsync("herald_redis_state{state=\"disabled\"}")).Value);
        Assert.NotEmpty(await _prometheus.VectorAsync("herald_store_write_queue"));
        Assert.NotEmpty(await _prometheus.VectorAsync("dotnet_gc_collections_total"));
        Assert.NotEmpty(await _prometheus.VectorAsync("http_server_request_duration_seconds_bucket"));
    }

    [Fact]
    public async Task GrafanaDashboard_QueriesRunInPrometheus_AndNameExportedSeriesOnly()
    {
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Root, "deploy", "grafana", "herald.json")));
        var queries = Expressions(dashboard.RootElement).ToList();
        Assert.True(queries.Count >= 10, "the dashboard lost its panels");

        // Traffic first: an observable gauge (connections) has no series while nothing is open.
        var guest = await _node.OpenGuestDialogAsync("dashboard-guest");
        await using var sse = await SseTestClient.ConnectAsync(_node.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await _node.PostGuestMessageAsync(guest, "hello");
        await sse.TakeAsync(1);

        // Some families have no samples until something happens (a slow consumer); the node's exposition still declares them.
        var exposition = await MetricsScrape.ReadAsync(_node.Client);
        await _prometheus.WaitForScrapeAsync();
        var stored = await _prometheus.MetricNamesAsync();
        foreach (var query in queries)
        {
            foreach (Match name in SeriesName().Matches(query))
            {
                var series = name.Value;
                var family = HistogramSuffix().Replace(series, "");
                Assert.True(exposition.HasFamily(series) || exposition.TypeOf(family) == "histogram" || stored.Contains(series),
                    $"the dashboard's query names {series}, which Herald does not export: {query}\nExported families: {string.Join(' ', exposition.Text.Split('\n').Where(l => l.StartsWith("# TYPE", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]))}");
            }

            // Grafana's variables, as the dashboard's defaults would resolve them.
            var promql = query.Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$instance", ".*", StringComparison.Ordinal);
            await _prometheus.QueryAsync(promql);
        }

        Assert.Contains(queries, q => q.Contains("herald_connections", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("herald_deliveries_sent_total", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("herald_delivery_latency_milliseconds_bucket", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("herald_disconnects_total", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("herald_store_write_queue", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("herald_redis_state", StringComparison.Ordinal));
    }

    private async Task WaitForAsync(string promql)
    {
        try
        {
            await Poll.UntilAsync(async () => (await _prometheus.VectorAsync(promql)).Count > 0, TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Prometheus never returned a sample for {promql}.\n{_prometheus.Output}");
        }
    }

    private static IEnumerable<string> Expressions(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name is "expr" or "query" && property.Value.ValueKind == JsonValueKind.String
                    && !property.Value.GetString()!.StartsWith("label_values", StringComparison.Ordinal) && property.Value.GetString() != "prometheus")
                {
                    yield return property.Value.GetString()!;
                }
                else
                {
                    foreach (var inner in Expressions(property.Value))
                    {
                        yield return inner;
                    }
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var inner in Expressions(item))
                {
                    yield return inner;
                }
            }
        }
    }

    [GeneratedRegex(@"\b(?:herald|dotnet|http_server|kestrel)_[a-z0-9_]+")]
    private static partial Regex SeriesName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();
}
