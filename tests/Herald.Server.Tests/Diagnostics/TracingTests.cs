using System.Collections;
using System.Diagnostics;
using System.Net.Http.Json;
using Herald.Server.Diagnostics;
using Herald.Server.Operations;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Herald.Server.Tests.Diagnostics;

/// <summary>
/// One chat message's path is one trace: the POST on node A, its commit and publish there, and its fan-out on node A
/// and on node B, where the parent arrived in the Redis payload.
/// </summary>
/// <remarks>
/// Both nodes run in this process, so one tracer provider (Herald's instrumentation, an in-memory exporter) sees the
/// spans of both; the link between them is still made only by what crossed Redis: node B's <c>herald.deliver</c> has a
/// remote parent, parsed from the payload's <c>herald_trace</c>.
/// </remarks>
public sealed class TracingTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task OneMessage_AcrossTwoNodes_IsOneTraceFromThePostToEachNodesDelivery()
    {
        var spans = new LockedList();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddHeraldInstrumentation().AddInMemoryExporter(spans).Build();
        var settings = new Dictionary<string, string> { ["Herald:Redis:Url"] = redis.Url };
        await using var a = await HeraldTestNode.StartInProcessAsync(settings);
        await using var b = await HeraldTestNode.StartInProcessAsync(settings, dataDirectory: a.DataDirectory);
        foreach (var node in new[] { a, b })
        {
            await Poll.UntilAsync(async () => (await node.HealthAsync()).GetProperty("redis").GetString() == "connected");
        }

        var guest = await a.OpenGuestDialogAsync("traced-guest");
        ActivityTraceId traceId;
        var stream = $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";
        await using var onA = await SseTestClient.ConnectAsync(a.Client, stream);
        await using var onB = await SseTestClient.ConnectAsync(b.Client, stream);

        // The caller's own span: the POST's client span (HttpClient's instrumentation) is its child, the server span a grandchild.
        using (var caller = new Activity("test.caller").SetIdFormat(ActivityIdFormat.W3C).Start())
        {
            // Sampled, as a caller that records its trace would be: OpenTelemetry's default sampler follows the parent.
            caller.ActivityTraceFlags |= ActivityTraceFlags.Recorded;
            traceId = caller.TraceId;
            using var response = await a.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { sender = "user", text = "traced" });
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var eventId = long.Parse((await onB.NextAsync()).EventId!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(eventId.ToString(System.Globalization.CultureInfo.InvariantCulture), (await onA.NextAsync()).EventId);

        var topic = $"dialog:{guest.DialogId}";
        Activity[] trace = [];
        try
        {
            await Poll.UntilAsync(() =>
            {
                trace = spans.Snapshot().Where(s => s.TraceId == traceId).ToArray();
                return trace.Count(s => s.OperationName == "herald.deliver" && (string?)s.GetTagItem("herald.topic") == topic) == 2;
            });
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Not the two deliveries of the message's topic in its trace ({spans.Count} spans exported: "
                + string.Join(", ", spans.Snapshot().Select(s => $"{s.OperationName} {s.DisplayName} {s.TraceId} {s.SpanId}<-{s.ParentSpanId}")) + $"). The trace {traceId}: "
                + string.Join("; ", trace.Select(s => $"{s.OperationName} {s.SpanId} <- {s.ParentSpanId} {string.Join(",", s.TagObjects.Select(t => $"{t.Key}={t.Value}"))}")));
        }

        var client = Assert.Single(trace, s => s.Kind == ActivityKind.Client);
        var request = Assert.Single(trace, s => s.Kind == ActivityKind.Server);
        Assert.Equal(client.SpanId, request.ParentSpanId);
        var commit = Assert.Single(trace, s => s.OperationName == "herald.commit");
        Assert.Equal(request.SpanId, commit.ParentSpanId);
        var publish = Assert.Single(trace, s => s.OperationName == "herald.publish");
        Assert.Equal(commit.SpanId, publish.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal("redis", publish.GetTagItem("herald.backplane"));
        Assert.Contains(eventId, (long[])publish.GetTagItem("herald.event_ids")!);

        var deliveries = trace.Where(s => s.OperationName == "herald.deliver" && (string?)s.GetTagItem("herald.topic") == topic).ToArray();
        Assert.All(deliveries, d =>
        {
            Assert.Equal(publish.SpanId, d.ParentSpanId);
            Assert.Equal(ActivityKind.Consumer, d.Kind);
            Assert.Equal(eventId, d.GetTagItem("herald.event_id"));
            Assert.Equal(1, d.GetTagItem("herald.subscribers"));
            var subscriber = Assert.Single(d.Events);
            Assert.Equal("sse", subscriber.Tags.Single(t => t.Key == "herald.transport").Value);
        });
        // Node A delivered its own copy in process; node B's parent came through Redis.
        Assert.Single(deliveries, d => !d.HasRemoteParent);
        Assert.Single(deliveries, d => d.HasRemoteParent);
    }

    [Fact]
    public async Task Otlp_OffByDefault_OnWithTheStandardVariables_OffAgainWithSdkDisabled()
    {
        // A real OTLP/HTTP receiver on loopback: it counts what arrives on each signal's path.
        var received = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", (string signal, HttpRequest request) =>
        {
            if (request.ContentType == "application/x-protobuf")
            {
                received.AddOrUpdate(signal, 1, (_, n) => n + 1);
            }

            return Results.Ok();
        });
        await collector.StartAsync();
        var endpoint = collector.Urls.First();

        await using (var off = await HeraldTestNode.StartInProcessAsync())
        {
            Assert.Null(off.Services.GetService(typeof(TracerProvider)));
            Assert.Null(off.Services.GetService(typeof(OpenTelemetry.Metrics.MeterProvider)));
        }

        var otlp = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        };
        await using (var disabled = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>(otlp) { ["OTEL_SDK_DISABLED"] = "true" }))
        {
            Assert.Null(disabled.Services.GetService(typeof(TracerProvider)));
        }

        await using var on = await HeraldTestNode.StartInProcessAsync(otlp);
        Assert.NotNull(on.Services.GetService(typeof(TracerProvider)));
        var guest = await on.OpenGuestDialogAsync("otlp-guest");
        await on.PostGuestMessageAsync(guest, "exported");
        await Poll.UntilAsync(() => received.ContainsKey("traces") && received.ContainsKey("metrics"), TimeSpan.FromSeconds(20));
    }

    /// <summary>The in-memory exporter adds from the export thread while the test reads.</summary>
    private sealed class LockedList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public Activity[] Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
