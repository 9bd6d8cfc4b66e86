using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Transports;

public sealed class StreamLimitTests
{
    [Fact]
    public async Task Heartbeat_IdleConnection_GetsHeartbeatComments()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HeartbeatInterval"] = "00:00:00.500" });
        var guest = await server.OpenGuestDialogAsync();
        using var response = await server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/events?{guest.Query}", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var heartbeats = 0;
        while (heartbeats < 3)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
            if (line == ": heartbeat")
            {
                heartbeats++;
            }
        }

        Assert.Equal(3, heartbeats);
    }

    [Fact]
    public async Task ConnectionLimit_WhenFull_Answers503WithRetryAfter()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:MaxConnections"] = "2" });
        var guest = await server.OpenGuestDialogAsync();
        var url = $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";
        await using var a = await SseTestClient.ConnectAsync(server.Client, url);
        await using var b = await SseTestClient.ConnectAsync(server.Client, url);

        using var refused = await server.Client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var body = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("too_many_connections", body.GetProperty("error").GetString());

        // Existing streams are unaffected.
        await server.PostGuestMessageAsync(guest, "still here");
        Assert.Contains("still here", (await a.NextAsync()).Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionLimit_WebSocketWhenFull_ClosesWithACodeClientsReconnectOn()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:MaxConnections"] = "1" });
        var guest = await server.OpenGuestDialogAsync();
        var url = $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}";
        await using var holder = await WsTestClient.ConnectAsync(server.BaseAddress, url);
        await Poll.UntilAsync(async () => (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats"))
            .GetProperty("connection_details").GetProperty("by_transport").TryGetProperty("websocket", out var n) && n.GetInt64() == 1);

        // The limit is transient: the close code must sit in the range herald.js and the doctor treat as "reconnect".
        await using var refused = await WsTestClient.ConnectAsync(server.BaseAddress, url);
        var (code, reason) = await refused.WaitForCloseAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Disconnect.TooManyConnections.Code, code);
        Assert.Equal(4529, code);
        Assert.True(Disconnect.Reconnects(code!.Value));
        Assert.Equal(ErrorCodes.TooManyConnections, reason);
    }

    [Fact]
    public async Task SlowConsumer_ThatStopsReading_IsDisconnectedWithoutHurtingOthers()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Streams:MaxQueuedEvents"] = "50",
            ["Herald:Streams:MaxQueuedBytes"] = "65536",
        });
        var guest = await server.OpenGuestDialogAsync();
        var token = await server.LoginAsync();

        // A raw socket with a tiny receive buffer that never reads: the server's socket buffers fill, then its queue.
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        await slow.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        await slow.SendAsync(Encoding.ASCII.GetBytes($"GET /api/events?topic=flood&token={token} HTTP/1.1\r\nHost: x\r\n\r\n"));

        await using var healthy = await SseTestClient.ConnectAsync(server.Client, $"/api/events?topic=flood&token={token}");
        using var op = await server.OperatorClientAsync();
        var payload = new string('x', 20_000);
        var stats = default(JsonElement);
        for (var i = 0; i < 2000; i++)
        {
            using var r = await op.PostAsJsonAsync("/api/publish", new { topic = "flood", data = new { i, payload } });
            r.EnsureSuccessStatusCode();
            Assert.Equal(i, JsonDocument.Parse((await healthy.NextAsync()).Data).RootElement.GetProperty("i").GetInt32());
            stats = await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats");
            if (stats.GetProperty("counters").GetProperty("server_disconnects").GetInt64() > 0)
            {
                break;
            }
        }

        Assert.Equal(1, stats.GetProperty("counters").GetProperty("server_disconnects").GetInt64());
        Assert.Equal(1, stats.GetProperty("active_connections").GetInt32());
    }
}
