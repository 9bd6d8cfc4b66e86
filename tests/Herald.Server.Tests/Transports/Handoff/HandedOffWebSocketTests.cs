using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Transports.Handoff;

/// <summary>
/// RFC 6455 as Herald's own framing speaks it on a handed-off socket (Transports/Handoff/HandedOffWebSocket), frame by
/// frame over a bare TCP client: what a well-behaved client gets (fragments reassembled, pings answered, its close
/// answered, pings from the heartbeat) and what a broken one gets (the documented close code, and nothing else changes).
/// Every socket here is checked to have been handed off, so none of it is the BCL's WebSocket answering.
/// </summary>
public sealed class HandedOffWebSocketTests
{
    private const int Text = 0x1, Binary = 0x2, Continuation = 0x0, Close = 0x8, Ping = 0x9, Pong = 0xA;

    [Fact]
    public async Task FragmentedText_WithAPingBetweenItsFragments_IsReassembled_AndThePingAnsweredWithItsPayload()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var socket = await OpenAsync(server, "frag");

        await socket.SendTextAsync("__pi", fin: false);
        await socket.SendFrameAsync(Ping, "hb-1"u8);
        await socket.SendFrameAsync(Continuation, "ng__"u8);

        var pong = await socket.NextFrameAsync();
        Assert.Equal((Pong, "hb-1"), (pong!.Opcode, pong.Text));
        var answer = await socket.NextFrameAsync();
        Assert.Equal((Text, "__pong__"), (answer!.Opcode, answer.Text));
    }

    [Fact]
    public async Task ABurstOfEvents_ArrivesWhole_InOrder_OneFramePerEvent()
    {
        // The writer queues a batch's frames and flushes once: each must still be its own well-formed frame.
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var socket = await OpenAsync(server, "burst");
        using var operatorClient = await server.OperatorClientAsync();
        var publishes = Enumerable.Range(0, 40).Select(async n =>
        {
            using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "burst", @event = "tick", data = new { n } });
            return (await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        });
        var ids = (await Task.WhenAll(publishes)).Order().ToList();

        var received = new List<long>();
        while (received.Count < ids.Count)
        {
            var frame = await socket.NextFrameAsync();
            Assert.True(frame is { Fin: true, Opcode: Text }, $"frame {received.Count}: opcode {frame?.Opcode}, fin {frame?.Fin}");
            received.Add(JsonDocument.Parse(frame!.Payload).RootElement.GetProperty("event_id").GetInt64());
        }

        Assert.Equal(ids, received);
    }

    [Fact]
    public async Task ClientClose_IsAnswered_ThenTheConnectionEnds_AndTheSubscriberIsGone()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var socket = await OpenAsync(server, "bye");

        await socket.SendCloseAsync(1000, "bye");
        var (close, before) = await socket.NextCloseAsync();
        Assert.Empty(before);
        Assert.Equal(1000, close.Close.Code);
        Assert.True(await socket.AtEndOfConnectionAsync(), "bytes after the close frame");
        await Poll.UntilAsync(async () => await ActiveAsync(server) == 0);
    }

    public static TheoryData<string, byte[], int, string> BrokenFrames => new()
    {
        // name, frame bytes (header and payload as sent), close code, what the reason must name
        { "unmasked", [0x81, 0x02, (byte)'h', (byte)'i'], 1002, "masked" },
        { "reserved bit", [0xC1, 0x80, 0, 0, 0, 0], 1002, "reserved" },
        { "opcode 3", [0x83, 0x80, 0, 0, 0, 0], 1002, "opcode 3" },
        { "fragmented ping", [0x09, 0x80, 0, 0, 0, 0], 1002, "fragmented control" },
        { "ping of 126 bytes", [0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0, .. new byte[126]], 1002, "over 125" },
        { "continuation first", [0x80, 0x80, 0, 0, 0, 0], 1002, "continuation" },
        { "close code 1005", [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xED], 1002, "1005" },
        { "one-byte close", [0x88, 0x81, 0, 0, 0, 0, 0x03], 1002, "one-byte" },
        { "text not UTF-8", [0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28], 1007, "UTF-8" },
        { "text over 4 KB", [0x81, 0xFE, 0x10, 0x01, 0, 0, 0, 0], 1009, "message_too_big" },
    };

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task AFrameThatBreaksTheProtocol_ClosesWithItsCode_NamingWhatWasWrong_AndTheNodeGoesOn(string name, byte[] frame, int code, string named)
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var bystander = await OpenAsync(server, "calm");
        await using var socket = await OpenAsync(server, "broken");

        await socket.SendRawAsync(frame);
        var (close, _) = await socket.NextCloseAsync();
        Assert.True(code == close.Close.Code, $"{name}: closed with {close.Close.Code} '{close.Close.Reason}', expected {code}");
        Assert.Contains(named, close.Close.Reason, StringComparison.Ordinal);
        Assert.True(await socket.AtEndOfConnectionAsync(), $"{name}: the connection stayed open after the close frame");

        // Nothing else changed: the other socket still gets its events.
        using var operatorClient = await server.OperatorClientAsync();
        using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "calm", @event = "tick", data = new { n = 1 } });
        published.EnsureSuccessStatusCode();
        var delivered = await bystander.NextFrameAsync();
        Assert.Equal("tick", JsonDocument.Parse(delivered!.Payload).RootElement.GetProperty("event").GetString());
    }

    [Fact]
    public async Task AMessageOfFragmentsOver4KB_ClosesWith1009_BeforeItEnds()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var socket = await OpenAsync(server, "big");

        var chunk = Encoding.ASCII.GetBytes(new string('a', 1500));
        await socket.SendFrameAsync(Text, chunk, fin: false);
        await socket.SendFrameAsync(Continuation, chunk, fin: false);
        await socket.SendFrameAsync(Continuation, chunk, fin: false);
        var (close, before) = await socket.NextCloseAsync();
        Assert.Equal(1009, close.Close.Code);
        Assert.Empty(before);
    }

    [Fact]
    public async Task ABinaryMessage_GetsAnErrorFrame_AndTheSocketStaysOpen()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        await using var socket = await OpenAsync(server, "bin");

        await socket.SendFrameAsync(Binary, [1, 2, 3]);
        var error = JsonDocument.Parse((await socket.NextFrameAsync())!.Payload).RootElement;
        Assert.Equal("error", error.GetProperty("type").GetString());
        await socket.SendTextAsync("__ping__");
        Assert.Equal("__pong__", (await socket.NextFrameAsync())!.Text);
    }

    [Fact]
    public async Task AnIdleSocket_IsPingedOnTheHeartbeat_AndOneThatNeverAnswers_IsClosedWith4509()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HeartbeatInterval"] = "00:00:00.300" });
        await using var answering = await OpenAsync(server, "alive");
        await using var silent = await OpenAsync(server, "silent");

        // The answering client returns every ping's payload; it outlives several timeouts (two intervals each).
        for (var i = 0; i < 8; i++)
        {
            var ping = await answering.NextFrameAsync();
            Assert.Equal(Ping, ping!.Opcode);
            await answering.SendFrameAsync(Pong, ping.Payload);
        }

        var (close, before) = await silent.NextCloseAsync();
        Assert.Equal(4509, close.Close.Code);
        Assert.StartsWith("ping_timeout", close.Close.Reason, StringComparison.Ordinal);
        Assert.NotEmpty(before);
        Assert.All(before, f => Assert.Equal(Ping, f.Opcode));

        // The answering one is still open and live.
        await answering.SendTextAsync("__ping__");
        RawWebSocket.Frame? reply;
        do
        {
            reply = await answering.NextFrameAsync();
        }
        while (reply!.Opcode == Ping);
        Assert.Equal("__pong__", reply.Text);
    }

    [Fact]
    public async Task AListenerThatNeverSpeaks_IsPingedWhenEventsStop_NotClosed()
    {
        // Events for longer than the ping timeout (two intervals) to a client that sends nothing: no heartbeat (and no
        // ping) is due while they flow, so when they stop the peer's silence is no sign of death yet — it gets a ping.
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HeartbeatInterval"] = "00:00:00.300" });
        await using var socket = await OpenAsync(server, "listen");
        using var operatorClient = await server.OperatorClientAsync();
        var started = Environment.TickCount64;
        while (Environment.TickCount64 - started < 1500)
        {
            using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "listen", @event = "tick", data = new { n = 1 } });
            published.EnsureSuccessStatusCode();
            RawWebSocket.Frame? frame;
            do
            {
                frame = await socket.NextFrameAsync();
                if (frame!.Opcode == Close)
                {
                    Assert.Fail($"closed while events flowed: {frame.Close}");
                }

                if (frame.Opcode == Ping)
                {
                    // A heartbeat that fell between two events: answered, as any client does.
                    await socket.SendFrameAsync(Pong, frame.Payload);
                }
            }
            while (frame.Opcode != Text);
            // Paces the events (at most ~15 of them), so the stream stays busy rather than flooded.
            await Task.Delay(100);
        }

        var next = await socket.NextFrameAsync();
        Assert.True(next!.Opcode == Ping, $"after the events the socket got opcode {next.Opcode} {(next.Opcode == Close ? next.Close.ToString() : "")}, not a ping");
        await socket.SendFrameAsync(Pong, next.Payload);
        Assert.Equal(Ping, (await socket.NextFrameAsync())!.Opcode);
    }

    private static async Task<RawWebSocket> OpenAsync(HeraldTestNode server, string topic)
    {
        var token = await server.LoginAsync();
        var handedOff = await HandedOffAsync(server);
        var socket = await RawWebSocket.ConnectAsync(server.BaseAddress, $"/ws/topics?topic={topic}&token={token}");
        await Poll.UntilAsync(async () => await HandedOffAsync(server) == handedOff + 1);
        return socket;
    }

    private static async Task<long> HandedOffAsync(HeraldTestNode server) =>
        (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats")).GetProperty("counters").GetProperty("handed_off_streams").GetInt64();

    private static async Task<long> ActiveAsync(HeraldTestNode server) =>
        (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats")).GetProperty("active_connections").GetInt64();
}
