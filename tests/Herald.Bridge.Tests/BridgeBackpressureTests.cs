using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Testing.Bridge;
using Xunit.Abstractions;

namespace Herald.Bridge.Tests;

/// <summary>A client that stops reading stops the upstream read; memory stays bounded and nothing is lost.</summary>
public sealed class BridgeBackpressureTests(ITestOutputHelper output)
{
    private const int EventDataBytes = 8 * 1024;

    [Fact]
    public async Task ClientStopsReading_UpstreamWritesStall_ThenResumeWithoutLoss()
    {
        await using var upstream = FloodingUpstream.Start();
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        // A small fixed receive buffer on the client: without it Linux autotunes it to tens of MB, and the
        // stall would only show after the kernel had buffered that much.
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });
        await using var client = await BridgeClient.ConnectAsync(bridge.Uri, invoker: invoker);

        await client.SendAsync(new { protocol = "http", address = "127.0.0.1", port = upstream.Port, path = "/", id = "flood" });
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        Assert.Equal("1", (await client.ReceiveAsync()).Payload().Str("id"));

        // Stop reading. The upstream keeps writing until every buffer on the way is full, then blocks.
        var stalledAt = await WaitForStallAsync(upstream);
        output.WriteLine($"upstream stalled after {stalledAt} bytes ({stalledAt / (EventDataBytes + 16)} events)");
        Assert.True(stalledAt < 16L * 1024 * 1024, $"upstream wrote {stalledAt} bytes before stalling; buffering should be bounded");
        Assert.True(stalledAt > 0);

        // Reading again lets the upstream continue, and the events arrive in order with none missing.
        for (var expected = 2; expected <= 200; expected++)
        {
            var reply = await client.ReceiveAsync();
            Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), reply.Payload().Str("id"));
        }

        await WaitUntilAsync(() => upstream.BytesWritten > stalledAt);
    }

    /// <summary>Polls the upstream's progress until it has not moved for a second.</summary>
    private static async Task<long> WaitForStallAsync(FloodingUpstream upstream)
    {
        var deadline = DateTime.UtcNow + Within.Timeout;
        var last = -1L;
        var unchangedSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            var now = upstream.BytesWritten;
            if (now != last)
            {
                last = now;
                unchangedSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - unchangedSince > TimeSpan.FromSeconds(1))
            {
                return now;
            }

            // Progress is a counter written by another thread with nothing to await, so this polls.
            await Task.Delay(50);
        }

        throw new TimeoutException($"The upstream never stalled; it wrote {upstream.BytesWritten} bytes.");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Within.Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// A raw-socket SSE server that writes 8 KB events as fast as the connection takes them, with a small
    /// send buffer so its own kernel buffer hides little of the stall.
    /// </summary>
    private sealed class FloodingUpstream : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private long _bytesWritten;

        private FloodingUpstream()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _serving = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public long BytesWritten => Interlocked.Read(ref _bytesWritten);

        public static FloodingUpstream Start() => new();

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving.WaitAsync(Within.Timeout);
            _stop.Dispose();
        }

        private async Task ServeAsync()
        {
            try
            {
                using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                socket.SendBufferSize = 8192;
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                var request = new byte[4096];
                var received = 0;
                while (!Encoding.ASCII.GetString(request, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    received += await stream.ReadAsync(request.AsMemory(received), _stop.Token);
                }

                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
                var data = new string('x', EventDataBytes);
                for (var id = 1; ; id++)
                {
                    var frame = Encoding.ASCII.GetBytes($"id: {id}\ndata: {data}\n\n");
                    await stream.WriteAsync(frame, _stop.Token);
                    Interlocked.Add(ref _bytesWritten, frame.Length);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // Stopped by the test or the bridge went away.
            }
        }
    }
}
