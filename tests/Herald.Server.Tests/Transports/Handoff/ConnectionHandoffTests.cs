using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Herald.Server.Operations;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Herald.Server.Tests.Transports.Handoff;

/// <summary>
/// SSE streams that leave Kestrel after their headers (Transports/Handoff/ConnectionHandoff): read off a raw socket with a
/// strict chunked-body decoder, because after the hand-off Herald writes the HTTP/1.1 chunk framing itself.
/// </summary>
public sealed class ConnectionHandoffTests
{
    [Fact]
    public async Task HandedOffStream_DeliversEventsAsWellFormedChunks_AndEndsTheBodyOnDrain()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var token = await server.LoginAsync();
        using var operatorClient = await server.OperatorClientAsync();
        await using var stream = await RawStream.OpenAsync(server, $"/api/events?topic=handoff&token={token}");

        Assert.StartsWith("retry: ", await stream.NextChunkAsync(), StringComparison.Ordinal);
        await Poll.UntilAsync(async () => await HandedOffAsync(server) == 1);

        var ids = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "handoff", @event = "tick", data = new { n = i } });
            ids.Add((await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        }

        var received = new List<long>();
        while (received.Count < 3)
        {
            var chunk = await stream.NextChunkAsync() ?? throw new EndOfStreamException("the body ended before the events");
            foreach (var line in chunk.Split('\n'))
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    received.Add(long.Parse(line[4..]));
                }
            }
        }

        Assert.Equal(ids, received);

        var drain = server.Services.GetServices<IHostedService>().OfType<GracefulDrain>().Single();
        _ = drain.Begin();
        var farewell = await stream.NextChunkAsync();
        Assert.Contains("event: disconnect", farewell, StringComparison.Ordinal);
        Assert.Contains("shutting_down", farewell, StringComparison.Ordinal);
        // The last chunk (size 0) ends the body, then the server closes the connection.
        Assert.Null(await stream.NextChunkAsync());
        Assert.True(await stream.AtEndOfConnectionAsync(), "bytes after the last chunk");
    }

    [Fact]
    public async Task Stream_OnAConnectionThatCarriedAnEarlierRequest_IsHandedOffToo()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var token = await server.LoginAsync();
        using var operatorClient = await server.OperatorClientAsync();
        await using var stream = await RawStream.ConnectAsync(server);

        // A keep-alive request first, then the stream on the same connection.
        await stream.SendGetAsync("/api/sse/health");
        var (status, headers) = await stream.ReadHeadAsync();
        Assert.Equal(200, status);
        var health = await stream.ReadBodyAsync(headers);
        Assert.Contains("\"status\":\"healthy\"", health, StringComparison.Ordinal);

        await stream.SendGetAsync($"/api/events?topic=again&token={token}");
        (status, headers) = await stream.ReadHeadAsync();
        Assert.Equal(200, status);
        Assert.Equal("chunked", headers["transfer-encoding"]);
        Assert.StartsWith("retry: ", await stream.NextChunkAsync(), StringComparison.Ordinal);
        await Poll.UntilAsync(async () => await HandedOffAsync(server) == 1);

        using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "again", @event = "tick", data = new { n = 1 } });
        published.EnsureSuccessStatusCode();
        Assert.Contains("event: tick", await stream.NextChunkAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Stream_ThatMayBeHandedOff_SaysConnectionClose_SoNoClientReusesTheConnection(bool handOff)
    {
        // A handed-off stream's connection closes when the stream ends (a revoke, a server disconnect, the drain): an
        // HttpClient that took the body's last chunk as the end of a keep-alive response sent its next POST into that
        // closing connection and got "the response ended prematurely" (RevocationTests, under load).
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HandOffConnections"] = handOff ? "true" : "false" });
        var token = await server.LoginAsync();
        await using var stream = await RawStream.ConnectAsync(server);
        await stream.SendGetAsync($"/api/events?topic=close&token={token}");
        var (status, headers) = await stream.ReadHeadAsync();

        Assert.Equal(200, status);
        if (handOff)
        {
            Assert.Equal("close", headers.GetValueOrDefault("connection"));
            await Poll.UntilAsync(async () => await HandedOffAsync(server) == 1);
        }
        else
        {
            // A stream that stays in Kestrel ends its response and leaves the connection for the next request.
            Assert.False(headers.ContainsKey("connection"), "Connection: " + headers.GetValueOrDefault("connection"));
        }
    }

    [Fact]
    public async Task ClientThatGoesAway_AfterTheHandOff_IsUnregistered()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var token = await server.LoginAsync();
        var stream = await RawStream.OpenAsync(server, $"/api/events?topic=gone&token={token}");
        await stream.NextChunkAsync();
        await Poll.UntilAsync(async () => await HandedOffAsync(server) == 1);
        Assert.Equal(1, await ActiveAsync(server));

        await stream.DisposeAsync();
        await Poll.UntilAsync(async () => await ActiveAsync(server) == 0);
    }

    [Fact]
    public async Task HandOffSwitchedOff_StreamsStayInKestrelAndStillWork()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HandOffConnections"] = "false" });
        var token = await server.LoginAsync();
        using var operatorClient = await server.OperatorClientAsync();
        await using var stream = await RawStream.OpenAsync(server, $"/api/events?topic=kept&token={token}");
        await stream.NextChunkAsync();

        using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "kept", @event = "tick", data = new { n = 1 } });
        published.EnsureSuccessStatusCode();
        Assert.Contains("event: tick", await stream.NextChunkAsync(), StringComparison.Ordinal);
        // The event went through the live phase, which would have followed a hand-off.
        Assert.Equal(0, await HandedOffAsync(server));
    }

    [Fact]
    public async Task WebSocket_IsHandedOffAfterTheUpgrade_AndStillDeliversAnswersPingsAndClosesOnDrain()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var token = await server.LoginAsync();
        using var operatorClient = await server.OperatorClientAsync();
        await using var socket = await WsTestClient.ConnectAsync(server.BaseAddress, $"/ws/topics?topic=wshandoff&token={token}");
        await Poll.UntilAsync(async () => await HandedOffAsync(server) == 1);

        using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "wshandoff", @event = "tick", data = new { n = 1 } });
        var id = (await published.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var frame = await socket.ReceiveJsonAsync();
        Assert.Equal(id, frame.GetProperty("event_id").GetInt64());
        Assert.Equal("tick", frame.GetProperty("event").GetString());

        // The reader runs over the bare connection too: seed 001's ping and a publish frame are answered.
        await socket.SendAsync("__ping__");
        Assert.Equal("__pong__", await socket.ReceiveAsync());
        await socket.SendAsync("{\"type\":\"publish\",\"topic\":\"wshandoff\",\"event\":\"say\",\"data\":{\"text\":\"hi\"},\"ref\":\"r1\"}");
        var answers = new[] { await socket.ReceiveJsonAsync(), await socket.ReceiveJsonAsync() };
        Assert.Contains(answers, a => a.TryGetProperty("type", out var t) && t.GetString() == "published" && a.GetProperty("ref").GetString() == "r1");
        Assert.Contains(answers, a => a.TryGetProperty("event", out var e) && e.GetString() == "say");

        var drain = server.Services.GetServices<IHostedService>().OfType<GracefulDrain>().Single();
        _ = drain.Begin();
        Assert.Equal(1012, (await socket.WaitForCloseAsync(TimeSpan.FromSeconds(5))).Code);
        await Poll.UntilAsync(async () => await ActiveAsync(server) == 0);
    }

    [Fact]
    public async Task WebSocket_WithHandOffSwitchedOff_StaysInKestrelAndStillWorks()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Streams:HandOffConnections"] = "false" });
        var token = await server.LoginAsync();
        using var operatorClient = await server.OperatorClientAsync();
        await using var socket = await WsTestClient.ConnectAsync(server.BaseAddress, $"/ws/topics?topic=wskept&token={token}");
        await Poll.UntilAsync(async () => await ActiveAsync(server) == 1);

        using var published = await operatorClient.PostAsJsonAsync("/api/publish", new { topic = "wskept", @event = "tick", data = new { n = 1 } });
        published.EnsureSuccessStatusCode();
        Assert.Equal("tick", (await socket.ReceiveJsonAsync()).GetProperty("event").GetString());
        Assert.Equal(0, await HandedOffAsync(server));
    }

    private static async Task<long> HandedOffAsync(HeraldTestNode server) =>
        (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats")).GetProperty("counters").GetProperty("handed_off_streams").GetInt64();

    private static async Task<long> ActiveAsync(HeraldTestNode server) =>
        (await server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats")).GetProperty("active_connections").GetInt64();


    /// <summary>HTTP/1.1 over a bare socket, with a chunked-body decoder that rejects anything malformed.</summary>
    private sealed class RawStream : IAsyncDisposable
    {
        private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);
        private readonly TcpClient _tcp;
        private readonly NetworkStream _net;
        private readonly string _host;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        private RawStream(TcpClient tcp, string host)
        {
            _tcp = tcp;
            _net = tcp.GetStream();
            _host = host;
        }

        public static async Task<RawStream> ConnectAsync(HeraldTestNode server)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
            return new RawStream(tcp, server.BaseAddress.Authority);
        }

        public static async Task<RawStream> OpenAsync(HeraldTestNode server, string path)
        {
            var stream = await ConnectAsync(server);
            await stream.SendGetAsync(path);
            var (status, headers) = await stream.ReadHeadAsync();
            Assert.Equal(200, status);
            Assert.Equal("chunked", headers["transfer-encoding"]);
            Assert.StartsWith("text/event-stream", headers["content-type"], StringComparison.Ordinal);
            return stream;
        }

        public Task SendGetAsync(string path) =>
            _net.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {_host}\r\nAccept: text/event-stream\r\n\r\n")).AsTask();

        public async Task<(int Status, Dictionary<string, string> Headers)> ReadHeadAsync()
        {
            var statusLine = await ReadLineAsync();
            var parts = statusLine.Split(' ', 3);
            Assert.Equal("HTTP/1.1", parts[0]);
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var line = await ReadLineAsync(); line.Length > 0; line = await ReadLineAsync())
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }

            return (int.Parse(parts[1]), headers);
        }

        /// <summary>A whole response body, chunked or with a Content-Length.</summary>
        public async Task<string> ReadBodyAsync(Dictionary<string, string> headers)
        {
            if (headers.TryGetValue("content-length", out var length))
            {
                return Encoding.UTF8.GetString(await ReadExactlyAsync(int.Parse(length)));
            }

            var body = new StringBuilder();
            while (await NextChunkAsync() is { } chunk)
            {
                body.Append(chunk);
            }

            return body.ToString();
        }

        /// <summary>The next chunk's data, or null for the last chunk (size 0), after which the body has ended.</summary>
        public async Task<string?> NextChunkAsync()
        {
            var sizeLine = await ReadLineAsync();
            Assert.Matches("^[0-9a-f]+$", sizeLine);
            var size = Convert.ToInt32(sizeLine, 16);
            if (size == 0)
            {
                Assert.Equal("", await ReadLineAsync()); // no trailers
                return null;
            }

            var data = await ReadExactlyAsync(size);
            Assert.Equal("", await ReadLineAsync()); // the CRLF that closes the chunk's data
            return Encoding.UTF8.GetString(data);
        }

        /// <summary>True when the peer closes the connection with nothing more sent.</summary>
        public async Task<bool> AtEndOfConnectionAsync() => _start == _end && await FillAsync() == 0;

        public async ValueTask DisposeAsync()
        {
            await _net.DisposeAsync();
            _tcp.Dispose();
        }

        private async Task<string> ReadLineAsync()
        {
            while (true)
            {
                var index = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (index >= 0)
                {
                    Assert.True(index > _start && _buffer[index - 1] == '\r', "a line not ended by CRLF");
                    var line = Encoding.ASCII.GetString(_buffer, _start, index - 1 - _start);
                    _start = index + 1;
                    return line;
                }

                if (await FillAsync() == 0)
                {
                    throw new EndOfStreamException("connection closed mid-line");
                }
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int count)
        {
            var result = new byte[count];
            var copied = 0;
            while (copied < count)
            {
                if (_start == _end && await FillAsync() == 0)
                {
                    throw new EndOfStreamException($"connection closed after {copied} of {count} bytes");
                }

                var n = Math.Min(count - copied, _end - _start);
                Array.Copy(_buffer, _start, result, copied, n);
                _start += n;
                copied += n;
            }

            return result;
        }

        private async Task<int> FillAsync()
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            var n = await _net.ReadAsync(_buffer.AsMemory(_end)).AsTask().WaitAsync(ReadTimeout);
            _end += n;
            return n;
        }
    }
}
