using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Operations;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Herald.Server.Tests.Operations;

/// <summary>
/// The drain a node runs on SIGTERM, started directly on an in-process node so every step can be observed:
/// open streams end with a reconnect hint, new ones are refused, writes still complete.
/// (<see cref="EndToEnd.DrainProcessTests"/> sends the real signal to a real process.)
/// </summary>
public sealed class DrainTests
{
    [Fact]
    public async Task Drain_EndsEveryTransportWithAReconnectHint_RefusesNewStreams_AndStillAcceptsWrites()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var guest = await server.OpenGuestDialogAsync("drain-guest");
        var before = await MetricsScrape.ReadAsync(server.Client);
        await using var sse = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var ws = await WsTestClient.ConnectAsync(server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}");
        await ws.SendAsync("__ping__");
        Assert.Equal("__pong__", await ws.ReceiveAsync());
        var head = (await server.Client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}")).GetProperty("last_event_id").GetInt64();
        var poll = server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={head}&timeout=25");
        await Poll.UntilAsync(async () => (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats"))
            .GetProperty("connection_details").GetProperty("by_transport").TryGetProperty("long-poll", out var n) && n.GetInt64() == 1);

        var drain = server.Services.GetServices<IHostedService>().OfType<GracefulDrain>().Single();
        var drained = drain.Begin();

        // SSE: a disconnect event, then the end of the stream; the last retry: is the drain's 1-3 s, not the usual 5-7.5 s.
        var farewell = await sse.NextAsync();
        Assert.Equal("disconnect", farewell.EventType);
        Assert.Equal("shutting_down", JsonDocument.Parse(farewell.Data).RootElement.GetProperty("reason").GetString());
        await sse.WaitForEndAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(sse.Parser.ReconnectionInterval.TotalMilliseconds, 1000, 3000);

        // WebSocket: 1012 "service restart"; long poll: answered at once, empty, so the client polls again elsewhere.
        var (code, reason) = await ws.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1012, code);
        Assert.Equal("shutting_down", reason);
        using (var answered = await poll.WaitAsync(TimeSpan.FromSeconds(5)))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Assert.Equal(0, (await answered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").GetArrayLength());
        }

        await drained.WaitAsync(TimeSpan.FromSeconds(5));

        // New streams: 503 shutting_down with Retry-After; a new socket is closed with 1012; health says so (503).
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}"))
        using (var refused = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("shutting_down", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        await using (var late = await WsTestClient.ConnectAsync(server.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}"))
        {
            Assert.Equal(1012, (await late.WaitForCloseAsync(TimeSpan.FromSeconds(5))).Code);
        }

        using (var health = await server.Client.GetAsync("/api/sse/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal("shutting_down", (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        }

        // Writes in flight during a drain still commit: only streams are refused.
        await server.PostGuestMessageAsync(guest, "written while draining");
        var after = await MetricsScrape.ReadAsync(server.Client);
        Assert.Equal(3, after["herald_disconnects_total{reason=\"shutting_down\"}"] - before["herald_disconnects_total{reason=\"shutting_down\"}"]);
        Assert.Equal(0, after["herald_connections{transport=\"sse\"}"]);
    }
}
