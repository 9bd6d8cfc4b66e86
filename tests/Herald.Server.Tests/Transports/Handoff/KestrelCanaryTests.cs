using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Server.Tests.Transports.Handoff;

/// <summary>
/// Canaries for the three Kestrel behaviours that <c>Transports/Handoff/ConnectionHandoff.cs</c> relies on and Kestrel
/// does not document. Each runs a real Kestrel on 127.0.0.1 with a minimal app (no Herald) and a connection middleware
/// that does what the hand-off does, reduced to what the canary observes: it stands in for the heartbeat feature and,
/// once the handler switches it, tells Kestrel the client has left (reads complete empty) and keeps what Kestrel still
/// writes. A Kestrel update that changes one of the behaviours fails the test named after it.
/// </summary>
public sealed class KestrelCanaryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Kestrel_RegistersItsHeartbeatThroughTheConnectionFeature_AndNothingElseKeepsTheRequestStateAlive()
    {
        await using var app = await MinimalApp.StartAsync();
        using var client = await RawClient.ConnectAsync(app.Port);
        // Two keep-alive requests, then the switching one, all on one connection.
        await client.SendGetAsync("/plain");
        await client.SendGetAsync("/plain");
        var probe = await app.NextProbeAsync();
        await client.SendGetAsync("/switch");
        await WithinAsync(probe.Released.Task, "Kestrel did not release the connection (see the release canary)");

        Assert.True(probe.Registrations.Count == 1 && probe.Registrations[0].RequestsBefore == 0,
            "Kestrel behaviour changed: its HTTP layer no longer registers its heartbeat callback once per connection, before the "
            + "first request, through the IConnectionHeartbeatFeature a connection middleware put in the connection's features "
            + $"(registrations seen: {string.Join(", ", probe.Registrations.Select(r => $"{r.StateType} before request {r.RequestsBefore + 1}"))}). "
            + "ConnectionHandoff intercepts that registration to drop it at the hand-off.");

        // The probe dropped the registration at the switch, as the hand-off does, and Kestrel has let go of the
        // connection, which is still open: the request's state must now be unreachable.
        for (var i = 0; i < 3 && probe.RequestState!.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(probe.RequestState!.IsAlive,
            "Kestrel behaviour changed: with its heartbeat registration dropped and the connection released, something still "
            + "keeps the request's state (the HttpContext's features) alive, so a handed-off stream no longer saves it.");
        probe.Hold.TrySetResult();
        await client.ReadToEndAsync();
    }

    [Fact]
    public async Task Kestrel_ReleasesTheConnectionAfterACompletedRead_WithoutClosingIt()
    {
        await using var app = await MinimalApp.StartAsync();
        using var client = await RawClient.ConnectAsync(app.Port);
        var probe = await app.NextProbeAsync();
        await client.SendGetAsync("/switch");

        // The client has not closed anything: only the probe's reads say it has.
        await WithinAsync(probe.Released.Task,
            "Kestrel behaviour changed: after the handler returned, a read that completed with no data did not end Kestrel's "
            + "HTTP processing of the connection (the connection middleware's next() did not return). ConnectionHandoff "
            + "relies on it to get the connection back from Kestrel.");
        probe.Hold.TrySetResult();
        var received = await client.ReadToEndAsync();
        Assert.True(received.EndsWith(MinimalApp.AfterRelease, StringComparison.Ordinal),
            "Kestrel behaviour changed: once it released the connection, bytes written to the connection's own pipe did not "
            + "reach the client (Kestrel closed or completed it). ConnectionHandoff's continuation writes the rest of the "
            + $"stream there. The client received: {Printable(received)}");
    }

    [Fact]
    public async Task Kestrel_WritesOnlyTheLastChunkAfterTheHandlerReturns_SoDroppingItLeavesTheBodyOpen()
    {
        await using var app = await MinimalApp.StartAsync();
        using var client = await RawClient.ConnectAsync(app.Port);
        var probe = await app.NextProbeAsync();
        await client.SendGetAsync("/switch");
        await WithinAsync(probe.Released.Task, "Kestrel did not release the connection (see the release canary)");
        probe.Hold.TrySetResult();
        var received = await client.ReadToEndAsync();

        var written = Encoding.ASCII.GetString(probe.WrittenAfterSwitch.ToArray());
        Assert.True(written == "0\r\n\r\n",
            "Kestrel behaviour changed: what it writes to the connection after the handler of a chunked response returns is "
            + $"no longer exactly the last chunk \"0\\r\\n\\r\\n\" but {Printable(written)}. ConnectionHandoff drops those bytes "
            + "and ends the body itself later.");
        var body = received[(received.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.True(body == "5\r\nhello\r\n" + MinimalApp.AfterRelease,
            "Kestrel behaviour changed: bytes other than the handler's chunk went to the client past the connection "
            + $"middleware's pipe, so dropping the last chunk there no longer leaves the body open. The body: {Printable(body)}");
    }

    private static string Printable(string s) => "\"" + s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    private static async Task WithinAsync(Task task, string failure)
    {
        if (await Task.WhenAny(task, Task.Delay(Timeout)) != task)
        {
            Assert.Fail(failure + $" (waited {Timeout.TotalSeconds} s)");
        }
    }

    /// <summary>Kestrel on 127.0.0.1 with the probing connection middleware, <c>/plain</c> and <c>/switch</c>.</summary>
    private sealed class MinimalApp : IAsyncDisposable
    {
        /// <summary>What the middleware writes to the connection's own pipe once Kestrel has let go of it.</summary>
        public const string AfterRelease = "after release\n";

        private readonly WebApplication _app;
        private readonly BlockingCollection<Probe> _probes = [];
        private readonly ConcurrentQueue<Probe> _all = new();

        private MinimalApp(WebApplication app) => _app = app;

        public int Port => new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        public Task<Probe> NextProbeAsync() => Task.Run(() => _probes.TryTake(out var probe, Timeout) ? probe : throw new TimeoutException("no connection reached the middleware"));

        public static async Task<MinimalApp> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            MinimalApp? self = null;
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
            {
                var real = connection.Transport;
                var heartbeat = connection.Features.Get<IConnectionHeartbeatFeature>();
                var probe = new Probe(real, heartbeat);
                connection.Transport = probe;
                connection.Features.Set<IConnectionHeartbeatFeature>(probe);
                self!._probes.Add(probe);
                self._all.Enqueue(probe);
                try
                {
                    await next(connection);
                }
                finally
                {
                    connection.Transport = real;
                    connection.Features.Set(heartbeat);
                }

                probe.Released.TrySetResult();
                await probe.Hold.Task;
                if (probe.Switched)
                {
                    await real.Output.WriteAsync(Encoding.ASCII.GetBytes(AfterRelease));
                }
            })));
            var app = builder.Build();
            app.MapGet("/plain", (HttpContext context) =>
            {
                ((Probe)context.Features.Get<IConnectionHeartbeatFeature>()!).Requests++;
                return "ok";
            });
            app.MapGet("/switch", async (HttpContext context) =>
            {
                var probe = (Probe)context.Features.Get<IConnectionHeartbeatFeature>()!;
                probe.Requests++;
                // Headers and a first chunk out through Kestrel, as an SSE stream's are before its hand-off.
                await context.Response.BodyWriter.WriteAsync("hello"u8.ToArray());
                probe.RequestState = new WeakReference(context.Features);
                probe.Switch();
            });
            self = new MinimalApp(app);
            await app.StartAsync();
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            // A failed canary leaves its connection held; let go of it rather than wait out the shutdown timeout.
            foreach (var probe in _all)
            {
                probe.Hold.TrySetResult();
            }

            await _app.StopAsync();
            await _app.DisposeAsync();
            _probes.Dispose();
        }
    }

    /// <summary>What the hand-off puts between Kestrel and the connection, recording what the canaries look at.</summary>
    private sealed class Probe : IDuplexPipe, IConnectionHeartbeatFeature
    {
        private readonly IConnectionHeartbeatFeature? _heartbeat;
        private Action<object>? _onHeartbeat;
        private object? _onHeartbeatState;
        private volatile bool _switched;

        public Probe(IDuplexPipe real, IConnectionHeartbeatFeature? heartbeat)
        {
            _heartbeat = heartbeat;
            Input = new SwitchReader(this, real.Input);
            Output = new SwitchWriter(this, real.Output);
        }

        public PipeReader Input { get; }

        public PipeWriter Output { get; }

        public bool Switched => _switched;

        public int Requests { get; set; }

        /// <summary>Each heartbeat registration: the type of its state (not the state: that would keep it alive) and the requests handled before it.</summary>
        public List<(string StateType, int RequestsBefore)> Registrations { get; } = [];

        public WeakReference? RequestState { get; set; }

        public MemoryStream WrittenAfterSwitch { get; } = new();

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Holds the released connection open until the test has looked.</summary>
        public TaskCompletionSource Hold { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Switch()
        {
            lock (Registrations)
            {
                _onHeartbeat = null;
                _onHeartbeatState = null;
                _switched = true;
            }
        }

        public void OnHeartbeat(Action<object> action, object state)
        {
            lock (Registrations)
            {
                Registrations.Add((state.GetType().FullName!, Requests));
                if (_switched)
                {
                    return;
                }

                _onHeartbeat = action;
                _onHeartbeatState = state;
            }

            _heartbeat?.OnHeartbeat(static s => ((Probe)s).Tick(), this);
        }

        private void Tick()
        {
            Action<object>? action;
            object? state;
            lock (Registrations)
            {
                action = _onHeartbeat;
                state = _onHeartbeatState;
            }

            action?.Invoke(state!);
        }

        public void Record(ReadOnlySpan<byte> bytes)
        {
            lock (WrittenAfterSwitch)
            {
                WrittenAfterSwitch.Write(bytes);
            }
        }
    }

    private sealed class SwitchReader(Probe probe, PipeReader inner) : PipeReader
    {
        private static readonly ReadResult Ended = new(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            probe.Switched ? ValueTask.FromResult(Ended) : inner.ReadAsync(cancellationToken);

        public override bool TryRead(out ReadResult result)
        {
            if (probe.Switched)
            {
                result = Ended;
                return true;
            }

            return inner.TryRead(out result);
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            if (!probe.Switched)
            {
                inner.AdvanceTo(consumed, examined);
            }
        }

        public override void CancelPendingRead()
        {
            if (!probe.Switched)
            {
                inner.CancelPendingRead();
            }
        }

        public override void Complete(Exception? exception = null)
        {
            if (!probe.Switched)
            {
                inner.Complete(exception);
            }
        }
    }

    private sealed class SwitchWriter(Probe probe, PipeWriter inner) : PipeWriter
    {
        private readonly byte[] _scratch = new byte[4096];

        public override void Advance(int bytes)
        {
            if (probe.Switched)
            {
                probe.Record(_scratch.AsSpan(0, bytes));
            }
            else
            {
                inner.Advance(bytes);
            }
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) =>
            !probe.Switched ? inner.GetMemory(sizeHint) : sizeHint <= _scratch.Length ? _scratch : throw new InvalidOperationException($"Kestrel asked for {sizeHint} bytes after the switch");

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            probe.Switched ? ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false)) : inner.FlushAsync(cancellationToken);

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            if (!probe.Switched)
            {
                return inner.WriteAsync(source, cancellationToken);
            }

            probe.Record(source.Span);
            return ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false));
        }

        public override void CancelPendingFlush()
        {
            if (!probe.Switched)
            {
                inner.CancelPendingFlush();
            }
        }

        public override void Complete(Exception? exception = null)
        {
            if (!probe.Switched)
            {
                inner.Complete(exception);
            }
        }
    }

    /// <summary>HTTP/1.1 requests over a bare socket; responses read as raw text.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _net;
        private readonly byte[] _buffer = new byte[4096];

        private RawClient(TcpClient tcp)
        {
            _tcp = tcp;
            _net = tcp.GetStream();
        }

        public static async Task<RawClient> ConnectAsync(int port)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Timeout);
            return new RawClient(tcp);
        }

        /// <summary>Sends a GET; for <c>/plain</c> also reads its whole (small, chunked) response.</summary>
        public async Task SendGetAsync(string path)
        {
            await _net.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).AsTask().WaitAsync(Timeout);
            if (path == "/plain")
            {
                var response = new StringBuilder();
                while (!response.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await _net.ReadAsync(_buffer).AsTask().WaitAsync(Timeout);
                    Assert.True(n > 0, "the connection closed during a keep-alive response");
                    response.Append(Encoding.ASCII.GetString(_buffer, 0, n));
                }
            }
        }

        /// <summary>Everything the server sends until it closes the connection.</summary>
        public async Task<string> ReadToEndAsync()
        {
            using var all = new MemoryStream();
            await _net.CopyToAsync(all).WaitAsync(Timeout);
            return Encoding.ASCII.GetString(all.ToArray());
        }

        public void Dispose()
        {
            _net.Dispose();
            _tcp.Dispose();
        }
    }
}
