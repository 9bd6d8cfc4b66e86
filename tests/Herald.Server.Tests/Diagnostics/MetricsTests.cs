using System.Net;
using System.Net.Http.Json;
using Herald.Server.Operations.Prometheus;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Diagnostics;

/// <summary>/metrics: real traffic moves the series issue 9 lists, and the exposition is valid Prometheus text.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() =>
        _server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Limits:LoginsPerIpPerMinute"] = "4" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Metrics_AfterTraffic_TheSeriesOfEveryInstrumentMove()
    {
        var guest = await _server.OpenGuestDialogAsync("metrics-guest");
        var before = await MetricsScrape.ReadAsync(_server.Client);

        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var ws = await WsTestClient.ConnectAsync(_server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}");
        await ws.SendAsync("__ping__");
        Assert.Equal("__pong__", await ws.ReceiveAsync());
        for (var i = 0; i < 3; i++)
        {
            await _server.PostGuestMessageAsync(guest, $"m{i}");
        }

        var live = await sse.TakeAsync(3);
        for (var i = 0; i < 3; i++)
        {
            await ws.ReceiveJsonAsync();
        }

        // A resume from the first event replays the two after it.
        await using var resumed = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}", live[0].EventId);
        await resumed.TakeAsync(2);

        // Auth failures by reason: a guest asking for another guest's dialog; a garbage operator token.
        using (var foreign = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/messages?assistant_id={guest.AssistantId}&guest_id=intruder"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        }

        using (var garbage = await _server.Client.GetAsync("/api/dialogs?token=not-a-jwt"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, garbage.StatusCode);
        }

        // Rate limiting: the fifth login within a minute (the fixture logged in once already) is refused.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var login = await _server.Client.PostAsJsonAsync("/api/auth/login", new { email = "nobody@herald.local", password = "wrong" });
            statuses.Add(login.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        var after = await MetricsScrape.ReadAsync(_server.Client);

        double Delta(string series) => after[series] - before[series];
        Assert.True(Delta("herald_events_published_total") >= 3, after.Text);
        Assert.True(Delta("herald_deliveries_sent_total") >= 6, "3 messages to the SSE stream and to the socket");
        Assert.Equal(2, after["herald_connections{transport=\"sse\"}"]);
        Assert.Equal(1, after["herald_connections{transport=\"websocket\"}"]);
        Assert.True(Delta("herald_delivery_latency_milliseconds_count") >= 2);
        Assert.Equal(after["herald_delivery_latency_milliseconds_count"], after["herald_delivery_latency_milliseconds_bucket{le=\"+Inf\"}"]);
        Assert.True(after["herald_delivery_latency_milliseconds_bucket{le=\"500\"}"] <= after["herald_delivery_latency_milliseconds_bucket{le=\"+Inf\"}"]);
        // The three POSTs went through the writer: each is a write with its latency, and every batch has a size and a duration.
        Assert.Equal(3, Delta("herald_store_write_latency_milliseconds_count"));
        var batches = Delta("herald_store_write_batch_duration_milliseconds_count");
        Assert.InRange(batches, 1, 3);
        Assert.Equal(batches, Delta("herald_store_write_batch_size_count"));
        Assert.Equal(3, Delta("herald_store_write_batch_size_sum"));
        Assert.True(Delta("herald_store_write_batch_duration_milliseconds_sum") > 0);
        Assert.Equal("histogram", after.TypeOf("herald_store_write_batch_size"));
        Assert.Equal(1, Delta("herald_resumes_total"));
        Assert.Equal(2, Delta("herald_resumes_replayed_events_total"));
        Assert.True(Delta("herald_auth_failures_total{reason=\"foreign dialog\"}") >= 1, after.Text);
        Assert.True(after.Text.Contains("herald_auth_failures_total{reason=", StringComparison.Ordinal));
        Assert.True(Delta("herald_rate_limited_total{limit=\"logins_per_ip\"}") >= 1);
        Assert.Equal(1, after["herald_redis_state{state=\"disabled\"}"]);
        Assert.Equal(0, after["herald_redis_state{state=\"connected\"}"]);
        Assert.True(after.Has("herald_redis_reconnects_total"));
        Assert.Equal("histogram", after.TypeOf("herald_delivery_latency_milliseconds"));
        Assert.Equal("gauge", after.TypeOf("herald_connections"));
        // The runtime's and ASP.NET Core's own meters come along.
        Assert.True(after.HasFamily("dotnet_gc_collections_total"));
        Assert.True(after.HasFamily("http_server_request_duration_seconds"));
    }

    [Fact]
    public async Task Metrics_Head_AnswersOkWithTheContentTypeAndNoBody()
    {
        // Uptime checks and load balancers probe with HEAD; a 405 read as "the exporter is down" (issue 19).
        using var request = new HttpRequestMessage(HttpMethod.Head, "/metrics");
        using var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(PrometheusExporter.ContentType, response.Content.Headers.ContentType?.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Metrics_Disabled_EndpointIsNotServed()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Metrics:Enabled"] = "false" });
        using var response = await server.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("herald.delivery.latency", "ms", false, "herald_delivery_latency_milliseconds")]
    [InlineData("herald.events.published", null, true, "herald_events_published_total")]
    [InlineData("http.server.request.duration", "s", false, "http_server_request_duration_seconds")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", true, "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("herald.connections", "{connection}", false, "herald_connections")]
    [InlineData("9bad-name", null, false, "_9bad_name")]
    public void MetricName_FollowsThePrometheusConventions(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusText.MetricName(instrument, unit, counter));

    [Fact]
    public void Labels_AreSortedAndEscaped()
    {
        KeyValuePair<string, object?>[] tags = [new("z.tag", "a\"b\\c\nd"), new("a", 404), new("m", null)];
        var buffer = new char[256];
        Assert.True(PrometheusText.TryRenderLabels(tags, buffer, out var written));
        Assert.Equal("a=\"404\",m=\"\",z_tag=\"a\\\"b\\\\c\\nd\"", new string(buffer, 0, written));
        Assert.False(PrometheusText.TryRenderLabels(tags, new char[8], out _));
    }
}
