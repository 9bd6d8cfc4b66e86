using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Server.Transports.Handoff;

/// <summary>
/// Kestrel connection middleware that lets a response that never ends — an SSE stream, or a WebSocket — leave
/// Kestrel's HTTP/1.1 machinery once its headers (or its 101) are out, and go on over the bare connection.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> An idle SSE stream is a request that never finishes, and for as long as it lasts Kestrel keeps
/// the whole state of a request in progress: <c>Http1Connection</c>, the request and response header collections,
/// the <c>HttpContext</c>, output producer, timeout control, the request line strings (which hold <c>?token=</c>), the
/// middleware's suspended frames. The S1 heap snapshot put that at about 7 KB of a 16 KB idle connection. After the
/// hand-off a stream is its socket, the socket's two pipes, and Herald's subscriber.</para>
/// <para><b>How.</b> Kestrel's HTTP layer runs over a pass-through of the connection's pipes. A stream that has
/// flushed its headers and first bytes calls <see cref="TryHandOff"/> with the rest of its work. From then on the
/// pass-through tells Kestrel the client has left: reads complete empty, and writes — the end-of-body chunk Kestrel
/// writes when the handler returns — are dropped. Kestrel finishes the request, finds no next request and lets go of
/// the connection; this middleware then restores the real pipes and runs the continuation on them, which writes the
/// rest of the chunked body itself (through a <see cref="ChunkedPipeWriter"/>) and ends it. Kestrel's per-connection
/// heartbeat callback is the one reference it would keep to its HTTP state for the connection's life, so it is
/// registered through this object, which drops it at the hand-off.</para>
/// <para><b>What it relies on.</b> Three behaviours of Kestrel (ASP.NET Core 10) that Kestrel does not document. Each
/// has a canary in <c>tests/Herald.Server.Tests/Transports/Handoff/KestrelCanaryTests.cs</c> that runs a real Kestrel
/// with a minimal app and fails, naming the behaviour, if an update changes it:
/// <list type="number">
/// <item><b>The heartbeat registration.</b> Kestrel's HTTP layer registers its timeout tick once per connection, as it
/// starts (before the first request), through the <see cref="IConnectionHeartbeatFeature"/> it finds in the
/// connection's features, so a connection middleware that stands in for that feature receives it. Its state is
/// Kestrel's <c>HttpConnection</c>, which holds the request in progress; once the middleware drops it and Kestrel has
/// let go, nothing else keeps that request's state alive. Canary:
/// <c>Kestrel_RegistersItsHeartbeatThroughTheConnectionFeature_AndNothingElseKeepsTheRequestStateAlive</c>.</item>
/// <item><b>The release after a completed read.</b> When a read for the next request completes with no data, Kestrel
/// takes it as the client's end of the connection: it ends its HTTP processing and returns from the connection
/// middleware's <c>next</c>, without closing the socket or completing the pipes below the middleware, so the
/// connection stays open for the continuation. Canary:
/// <c>Kestrel_ReleasesTheConnectionAfterACompletedRead_WithoutClosingIt</c>.</item>
/// <item><b>The dropped final chunk.</b> What Kestrel writes to the connection after the handler of a chunked response
/// returns is the last chunk (<c>0\r\n\r\n</c>) and nothing else, into the middleware's pipe rather than past it,
/// and it does not check that the bytes went out; so dropping them leaves the body open for the continuation to go on
/// with. Canary: <c>Kestrel_WritesOnlyTheLastChunkAfterTheHandlerReturns_SoDroppingItLeavesTheBodyOpen</c>.</item>
/// </list></para>
/// <para><b>WebSockets.</b> An upgraded request is handed off the same way once Kestrel has flushed its 101: the
/// continuation runs a WebSocket over the bare connection's pipes (<see cref="HandedOffWebSocket"/>). Nothing of the
/// upgraded stream has been read by then, so the client's first frames are still in the connection's input; after the
/// handler of an upgraded request returns Kestrel writes nothing (there is no body to end), so nothing is dropped.
/// Tested end to end (delivery, the reader's ping and publish frames, the drain's 1012) by
/// <c>ConnectionHandoffTests.WebSocket_IsHandedOffAfterTheUpgrade_AndStillDeliversAnswersPingsAndClosesOnDrain</c>.</para>
/// <para>Only plain-text HTTP/1.1 responses with chunked bodies, or upgraded to a WebSocket, are handed off: over TLS the pipes below Kestrel
/// carry ciphertext, and HTTP/2 multiplexes streams over one connection. Those stay in Kestrel, as does everything
/// when <see cref="StreamOptions.HandOffConnections"/> is off.</para>
/// </remarks>
public sealed class ConnectionHandoff : IConnectionHeartbeatFeature
{
    private readonly HandoffReader _input;
    private readonly HandoffWriter _output;
    private readonly IConnectionHeartbeatFeature? _heartbeat;
    private Action<object>? _onHeartbeat;
    private object? _onHeartbeatState;
    private List<(Action<object> Action, object State)>? _moreHeartbeats;
    private Func<ConnectionContext, Task>? _continuation;
    private volatile bool _handedOff;

    private ConnectionHandoff(IDuplexPipe transport, IConnectionHeartbeatFeature? heartbeat)
    {
        _heartbeat = heartbeat;
        _input = new HandoffReader(this, transport.Input);
        _output = new HandoffWriter(this, transport.Output);
    }

    /// <summary>True once the stream has been handed off: Kestrel's view of the connection is then one the client has left.</summary>
    internal bool HandedOff => _handedOff;

    /// <summary>Adds the middleware to a listen endpoint.</summary>
    public static void Install(ListenOptions listen) => listen.Use(next => connection => RunAsync(connection, next));

    /// <summary>
    /// True when a response to this request can be handed off once it has started (plain-text HTTP/1.1 GET through the
    /// middleware). A stream that may be handed off says <c>Connection: close</c> in its headers: after a hand-off the
    /// connection ends with the stream, so a client that kept it for its next request (HttpClient does, after a body that
    /// ended with its last chunk) would send that request into a connection being closed and get no answer.
    /// </summary>
    public static bool MayHandOff(HttpContext context) => HandoffOf(context) is { _handedOff: false };

    // Found through the heartbeat feature it stands in for, rather than as a feature of its own: one entry fewer in every
    // connection's feature collection.
    private static ConnectionHandoff? HandoffOf(HttpContext context) =>
        context.Features.Get<IConnectionHeartbeatFeature>() is ConnectionHandoff handoff
        && !context.Request.IsHttps
        && HttpMethods.IsGet(context.Request.Method)
        && string.Equals(context.Request.Protocol, "HTTP/1.1", StringComparison.Ordinal)
            ? handoff
            : null;

    /// <summary>
    /// Called by a stream after its headers and first bytes have been flushed through Kestrel (or by a WebSocket after
    /// its 101 upgrade): if this connection can be handed off, <paramref name="continuation"/> will run on the bare
    /// connection once Kestrel has let it go, and the handler must return without touching the response (or the
    /// upgraded stream) again. False: carry on inside Kestrel.
    /// </summary>
    public static bool TryHandOff(HttpContext context, Func<ConnectionContext, Task> continuation)
    {
        if (HandoffOf(context) is not { } handoff
            || !context.Response.HasStarted
            || !(context.Response.StatusCode == StatusCodes.Status101SwitchingProtocols
                || string.Equals(context.Response.Headers.TransferEncoding, "chunked", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        lock (handoff._input)
        {
            if (handoff._handedOff)
            {
                return false;
            }

            handoff._continuation = continuation;
            handoff._handedOff = true;
            // Kestrel's timeouts for this request are moot from here on, and their callback is what would keep the
            // request's state alive.
            handoff._onHeartbeat = null;
            handoff._onHeartbeatState = null;
            handoff._moreHeartbeats = null;
        }

        return true;
    }

    private static async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var transport = connection.Transport;
        var features = connection.Features;
        var heartbeat = features.Get<IConnectionHeartbeatFeature>();
        var handoff = new ConnectionHandoff(transport, heartbeat);
        connection.Transport = new DuplexPipe(handoff._input, handoff._output);
        features.Set<IConnectionHeartbeatFeature>(handoff);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
            features.Set(heartbeat);
        }

        if (handoff._continuation is { } continuation)
        {
            handoff._continuation = null;
            await continuation(connection);
        }
    }

    void IConnectionHeartbeatFeature.OnHeartbeat(Action<object> action, object state)
    {
        lock (_input)
        {
            if (_handedOff)
            {
                return;
            }

            if (_onHeartbeat is null && _moreHeartbeats is null)
            {
                _onHeartbeat = action;
                _onHeartbeatState = state;
                _heartbeat?.OnHeartbeat(static s => ((ConnectionHandoff)s).Tick(), this);
            }
            else
            {
                (_moreHeartbeats ??= []).Add((action, state));
            }
        }
    }

    private void Tick()
    {
        Action<object>? action;
        object? state;
        List<(Action<object> Action, object State)>? more;
        lock (_input)
        {
            action = _onHeartbeat;
            state = _onHeartbeatState;
            more = _moreHeartbeats;
        }

        if (action is not null)
        {
            action(state!);
        }

        if (more is not null)
        {
            foreach (var (a, s) in more.ToArray())
            {
                a(s);
            }
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
