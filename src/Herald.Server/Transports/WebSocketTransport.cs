using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Hub;
using Herald.Server.Pipeline;
using Herald.Server.Transports.Handoff;
using Microsoft.AspNetCore.Connections;

namespace Herald.Server.Transports;

/// <summary>
/// WebSocket endpoints: the per-dialog sockets of seed 001 (<c>/ws/dialogs/{id}</c>, <c>/ws/widget/dialogs/{id}</c>,
/// <c>/ws/site/dialogs/{id}</c>), the operator socket of seed 002 (<c>/ws</c>) and the generic topic socket
/// (<c>/ws/topics</c>, where an app user may also publish). Text frames carry the same JSON as the SSE data plus
/// <c>event_id</c> (see <see cref="WsFrame"/>).
/// </summary>
/// <remarks>
/// Authorisation runs after the upgrade so that a failure reaches the browser as a close code and reason it can
/// read (a refused upgrade is only "connection failed" to a browser): 4000 bad request, 4001 unauthorized,
/// 4003 forbidden, 4004 not found, 4529 connection limit, 1012 draining (see <see cref="Disconnect"/>); an open socket
/// whose grant is withdrawn closes with 4011 and the reason (<see cref="GrantWatcher"/>).
/// Only the writer loop sends; the reader queues its replies (<c>__pong__</c>, acknowledgements, a ping's pong) to it.
/// A client frame that breaks RFC 6455 closes a handed-off socket with 1002 (1007 for text that is not UTF-8).
/// </remarks>
public sealed class WebSocketTransport(StreamHost host, ReplayService replay, AccessService access, HeraldMetrics metrics, ILoggerFactory loggers)
{
    public const string TransportName = "websocket";

    private const int MaxIncomingMessage = 4096;
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(2);
    private const int WriteBatch = 64;

    private static readonly byte[] Pong = "__pong__"u8.ToArray();
    private static readonly byte[] JsonPong = "{\"type\":\"pong\"}"u8.ToArray();

    // At most 123 bytes (RFC 6455's limit on a close reason).
    private const string GuestIdMissing = "guest_id is missing: widget sockets need &guest_id=<visitor id> (1-128 of A-Z a-z 0-9 - _ .)";

    private readonly ILogger _logger = loggers.CreateLogger(TransportLog.WebSocketCategory);

    private StreamHost Host => host;

    /// <summary>Which credential a dialog socket takes, by its URL (seed 001's three pools).</summary>
    public enum DialogSocketKind
    {
        Operator,
        Widget,
        Site,
    }

    public async Task DialogSocketAsync(HttpContext context, string rawId, DialogSocketKind kind, Func<long, string> dialogTopic)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiError.BadRequest(ErrorCodes.InvalidField, "This endpoint speaks WebSocket; send an Upgrade request.").ExecuteAsync(context);
            return;
        }

        using var socket = await AcceptAsync(context);
        var (dialogId, idError) = RequestReader.ParseId(rawId, "id");
        if (idError is not null)
        {
            await CloseAsync(socket, idError);
            return;
        }

        // Seed 001's widget URLs (?site_token=, ?assistant_id=) carry no guest_id; the reason says what to add
        // before any credential check could give a less helpful one.
        if (kind != DialogSocketKind.Operator && string.IsNullOrEmpty(context.Request.Query["guest_id"]))
        {
            await CloseAsync(socket, ApiError.BadRequest(ErrorCodes.MissingField, GuestIdMissing));
            return;
        }

        var (principal, authError) = kind switch
        {
            DialogSocketKind.Operator => await access.AuthenticateOperatorAsync(context),
            DialogSocketKind.Widget => await access.AuthenticateWidgetAsync(context),
            _ => await access.AuthenticateSiteAsync(context),
        };
        if (authError is not null)
        {
            await CloseAsync(socket, authError);
            return;
        }

        var (dialog, dialogError) = await access.AuthorizeDialogAsync(principal!, dialogId, context.RequestAborted);
        if (dialogError is not null)
        {
            await CloseAsync(socket, dialogError);
            return;
        }

        var (resume, resumeError) = RequestReader.ParseOptionalPosition(context.Request.Query["last_event_id"], "last_event_id");
        if (resumeError is not null)
        {
            await CloseAsync(socket, resumeError);
            return;
        }

        var label = $"dialog {dialog!.Id} ({kind.ToString().ToLowerInvariant()})";
        await RunSessionAsync(context, socket, [dialogTopic(dialog.Id)], new LiveSocket(this, label, principal!, ParseDialogMessage, resume) { Subscribed = true });
    }

    /// <summary>Seed 002: <c>/ws?token=</c>; <c>subscribe</c> picks dialogs (all when omitted), <c>ping</c> → <c>pong</c>.</summary>
    public async Task OperatorSocketAsync(HttpContext context, string feedTopic)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiError.BadRequest(ErrorCodes.InvalidField, "This endpoint speaks WebSocket; send an Upgrade request.").ExecuteAsync(context);
            return;
        }

        using var socket = await AcceptAsync(context);
        var (principal, authError) = await access.AuthenticateOperatorAsync(context);
        if (authError is not null)
        {
            await CloseAsync(socket, authError);
            return;
        }

        await RunSessionAsync(context, socket, [feedTopic], new LiveSocket(this, $"operator {OperatorId(principal!)}", principal!, ParseOperatorMessage, null) { GreetsOperator = true });
    }

    // Seed 002's operator socket names its operator in its label and its greeting; a service key has none (0).
    private static long OperatorId(Principal principal) => (principal as OperatorPrincipal)?.OperatorId ?? 0;

    /// <summary>
    /// What a topic socket's publish frame does: the event id (null when ephemeral), or the refusal's code and detail.
    /// <paramref name="clientKey"/> is the socket's client address for the rate limiter (the request is gone by then).
    /// One delegate serves every socket: a closure per socket would be kept for the socket's life.
    /// </summary>
    public delegate Task<(long? EventId, string? ErrorCode, string? Detail)> TopicPublish(string clientKey, Principal caller, PublishFrame frame, CancellationToken cancellationToken);

    /// <summary>
    /// The generic topic socket, <c>/ws/topics?topic=a&amp;topic=b[&amp;token=][&amp;last_event_id=N]</c>: the topics of
    /// <c>/api/events</c> over a WebSocket, for an operator, a service (<c>X-Api-Key</c>) or an app user. Frames in:
    /// <c>__ping__</c> (→ <c>__pong__</c>), <c>ping</c>, <c>{"type":"auth","token":..}</c>, <c>{"type":"publish","topic","event","data","durable","ref"}</c>
    /// (answered <c>published</c> or <c>error</c>, echoing <c>ref</c>). A topic the caller may not read closes the
    /// socket with 4003 and a reason naming it.
    /// </summary>
    public async Task TopicSocketAsync(HttpContext context, Func<HttpRequest, (IReadOnlyList<string>? Topics, ApiError? Error)> parseTopics, TopicPublish publish)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiError.BadRequest(ErrorCodes.InvalidField, "This endpoint speaks WebSocket; send an Upgrade request.").ExecuteAsync(context);
            return;
        }

        using var socket = await AcceptAsync(context);
        var (principal, authError) = await access.AuthenticateOperatorAsync(context, allowService: true, allowAppUser: true);
        var (topics, topicError) = authError is null ? parseTopics(context.Request) : (null, null);
        var refusal = authError ?? topicError ?? access.AuthorizeTopicRead(principal!, topics!);
        var (resume, resumeError) = RequestReader.ParseOptionalPosition(context.Request.Query["last_event_id"], "last_event_id");
        if ((refusal ?? resumeError) is { } error)
        {
            await CloseAsync(socket, error);
            return;
        }

        var label = $"topics {string.Join(",", topics!)} ({principal!.Kind})";
        await RunSessionAsync(context, socket, topics!, new LiveSocket(this, label, principal, ParseTopicMessage, resume) { Subscribed = true, Publish = publish });
    }

    // Seed 001's dialog sockets: __ping__, and the auth frame that extends a token-authorised socket.
    private static HubEvent? ParseDialogMessage(ReadOnlySpan<byte> text) =>
        text.SequenceEqual("__ping__"u8) ? HubEvent.Direct(Pong) : text.StartsWith("{"u8) ? ParseAuthMessage(text) : null;

    private static HubEvent? ParseTopicMessage(ReadOnlySpan<byte> text)
    {
        // herald.js keeps every socket alive with seed 001's __ping__, whatever the endpoint.
        if (text.SequenceEqual("__ping__"u8))
        {
            return HubEvent.Direct(Pong);
        }

        if (ReadMessage<PublishFrame>(text, "{\"type\":\"publish\"|\"auth\"|\"ping\", ...}", out var frame) is { } early)
        {
            return early;
        }

        return frame?.Type switch
        {
            "ping" => HubEvent.Direct(JsonPong),
            "auth" => HubEvent.Direct([], new OperatorMessage("auth", null, null, frame.Token)),
            "publish" => HubEvent.Direct([], frame),
            _ => ErrorFrame(ErrorCodes.InvalidField, "Unknown message type; expected \"publish\", \"auth\" or \"ping\"."),
        };
    }

    // The writer loop runs the publish, so its answer is ordered with the socket's other frames.
    private static async Task PublishAsync(WebSocket socket, LiveSocket live, PublishFrame frame, CancellationToken aborted)
    {
        var subscriber = live.Subscriber;
        var (eventId, code, detail) = await live.Publish!(subscriber.ClientKey, live.Caller, frame, aborted);
        var reply = code is null
            ? JsonSerializer.SerializeToUtf8Bytes(new { type = "published", @ref = frame.Ref, event_id = eventId, topic = frame.Topic }, HeraldJson.Options)
            : JsonSerializer.SerializeToUtf8Bytes(new { type = "error", @ref = frame.Ref, error = code, detail }, HeraldJson.Options);
        await SendAsync(socket, subscriber, reply, aborted);
    }

    // {"type":"auth","token":"<fresh jwt>"} keeps a token-authorised socket open past the old token's expiry.
    private static HubEvent? ParseAuthMessage(ReadOnlySpan<byte> text)
    {
        OperatorMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<OperatorMessage>(text, HeraldJson.Options);
        }
        catch (JsonException)
        {
            return ErrorFrame(ErrorCodes.InvalidJson, "Messages are \"__ping__\" or JSON {\"type\":\"auth\",\"token\":..}.");
        }

        return message?.Type == "auth" ? HubEvent.Direct([], message) : ErrorFrame(ErrorCodes.InvalidField, "Unknown message type.");
    }

    private static HubEvent? ParseOperatorMessage(ReadOnlySpan<byte> text)
    {
        if (ReadMessage<OperatorMessage>(text, "{\"type\":\"subscribe\"|\"ping\", ...}", out var message) is { } early)
        {
            return early;
        }

        switch (message?.Type)
        {
            case "ping":
                return HubEvent.Direct(JsonPong);
            case "auth":
                return HubEvent.Direct([], message);
            case "subscribe" when message.DialogIds is { Length: > 1000 }:
                return ErrorFrame(ErrorCodes.InvalidField, "At most 1000 dialog_ids per subscription.");
            case "subscribe" when message.LastEventId is < 0:
                return ErrorFrame(ErrorCodes.InvalidField, "'last_event_id' must be a non-negative integer.");
            case "subscribe":
                return HubEvent.Direct([], message);
            default:
                return ErrorFrame(ErrorCodes.InvalidField, "Unknown message type; expected \"subscribe\" or \"ping\".");
        }
    }

    private async Task RunSessionAsync(HttpContext context, WebSocket socket, IReadOnlyList<string> topics, LiveSocket live)
    {
        var subscriber = host.TryOpen(context, TransportName, topics, live.Label, live.Principal);
        if (subscriber is null)
        {
            await CloseAsync(socket, host.IsDraining ? Disconnect.ShuttingDown : Disconnect.TooManyConnections, null);
            return;
        }

        live.Open(subscriber, host.Lease(subscriber, live.Principal));
        // Kestrel lets go of the upgraded request (HttpContext, features, request line with ?token=) and the socket goes
        // on over the bare connection: an idle WebSocket then costs what an idle SSE stream does. The caller disposes
        // Kestrel's WebSocket object as it returns (nothing of the connection has been read through it). False when the
        // connection cannot be handed off (TLS, HTTP/2, Herald:Streams:HandOffConnections off): the socket stays here.
        if (ConnectionHandoff.TryHandOff(context, live.RunHandedOffAsync))
        {
            metrics.StreamsHandedOff.Add(1);
            return;
        }

        await live.RunAsync(socket, context.RequestAborted);
    }

    /// <summary>What a socket does with a client's text message: the reply to queue to the writer, if any.</summary>
    private delegate HubEvent? MessageParser(ReadOnlySpan<byte> text);

    /// <summary>
    /// One socket past its authorisation: what the writer keeps (position, subscription, lease) and its live phase,
    /// inside Kestrel or on the bare connection after a <see cref="ConnectionHandoff"/>: replay, then the writer loop
    /// and the reader until either side ends it, then the close handshake and the subscriber's unregistration. On a
    /// handed-off connection the socket is a <see cref="HandedOffWebSocket"/>, whose reader pushes messages here
    /// (<see cref="IWebSocketReceiver"/>) instead of a loop awaiting them.
    /// </summary>
    /// <remarks>Every idle socket holds one of these and the live phase's suspended frame: what either keeps is kept
    /// per connection (S1's heap snapshot), so what is needed only at the start (the topics, the greeting's text, the
    /// position to resume from) is not a field here or a local that outlives the start.</remarks>
    private sealed class LiveSocket : IWebSocketReceiver
    {
        private readonly WebSocketTransport _transport;
        private readonly MessageParser _onMessage;
        private Subscriber? _subscriber;

        // Replay from LastSent before the first live event.
        private bool _resume;

        public LiveSocket(WebSocketTransport transport, string label, Principal principal, MessageParser onMessage, long? resumeAfter)
        {
            _transport = transport;
            _onMessage = onMessage;
            Label = label;
            Principal = principal;
            if (resumeAfter is { } after)
            {
                LastSent = after;
                _resume = true;
            }
        }

        public string Label { get; }

        /// <summary>Who opened the socket; a refreshed credential is the lease's (<see cref="Caller"/>).</summary>
        public Principal Principal { get; }

        public Principal Caller => Lease?.Principal ?? Principal;

        public Subscriber Subscriber => _subscriber!;

        public StreamLease? Lease { get; private set; }

        /// <summary>Seed 002's operator socket: <c>{"type":"connected","operator_id":N}</c> before anything else.</summary>
        public bool GreetsOperator { get; init; }

        /// <summary>Set on topic sockets, which accept publish frames.</summary>
        public TopicPublish? Publish { get; init; }

        /// <summary>Events flow only after the socket has subscribed (seed 002) — dialog sockets are subscribed from the start.</summary>
        public bool Subscribed { get; set; }

        /// <summary>Dialog ids the operator socket asked for; null = all dialogs.</summary>
        public HashSet<long>? DialogFilter { get; set; }

        /// <summary>The id of the last durable event written; live events at or below it are not sent again.</summary>
        public long LastSent { get; set; }

        public bool Accepts(HubEvent item) =>
            Subscribed
            && (!item.IsDurable || item.Id > LastSent)
            && (DialogFilter is null || DialogFilter.Contains(item.Key));

        public void Open(Subscriber subscriber, StreamLease? lease)
        {
            _subscriber = subscriber;
            Lease = lease;
        }

        // Not async itself: RunAsync disposes the socket, one suspended frame fewer per idle socket.
        public Task RunHandedOffAsync(ConnectionContext connection)
        {
            Subscriber.Abort = connection.Abort;
            return RunAsync(new HandedOffWebSocket(connection.Transport, MaxIncomingMessage), connection.ConnectionClosed);
        }

        public async Task RunAsync(WebSocket socket, CancellationToken aborted)
        {
            // No locals but these that live across an await: each would be a field of the frame every idle socket keeps.
            Task? reader = null;
            if (socket is HandedOffWebSocket handedOff)
            {
                handedOff.StartReceiving(this);
            }
            else
            {
                reader = _transport.ReadAsync(socket, this);
            }

            try
            {
                await StartAsync(socket, aborted);

                // The writer loop, here rather than in a method of its own: an idle socket waits in this one frame.
                while (await Subscriber.WaitToReadAsync())
                {
                    await _transport.WriteBatchAsync(socket, this, aborted);
                }

                await CloseAsync(socket, Subscriber.CloseReason ?? Disconnect.ClientClosed, Subscriber.CloseDetail);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
            }
            finally
            {
                await EndAsync(socket, reader);
            }
        }

        // The greeting and the replay: what the socket sends before its first live event.
        private async Task StartAsync(WebSocket socket, CancellationToken aborted)
        {
            if (GreetsOperator)
            {
                var greeting = JsonSerializer.SerializeToUtf8Bytes(new { type = "connected", operator_id = OperatorId(Principal) }, HeraldJson.Options);
                await SendAsync(socket, Subscriber, greeting, aborted);
            }

            if (_resume)
            {
                _resume = false;
                await _transport.ReplayAsync(socket, this, LastSent, null, aborted);
            }
        }

        private async Task EndAsync(WebSocket socket, Task? reader)
        {
            var subscriber = Subscriber;
            subscriber.Close(Disconnect.ClientClosed);
            // The host counts and logs the subscriber's own close reason; the fallback is never needed after Close.
            _transport.Host.Close(subscriber, Label, Disconnect.ClientClosed);
            reader ??= ((HandedOffWebSocket)socket).WhenReceiveEnded();
            try
            {
                // After our close frame the peer has a moment to answer with its own; one that never does must not
                // hold the connection open (during a drain it would hold the whole shutdown).
                await reader.WaitAsync(CloseHandshakeTimeout);
            }
            catch (TimeoutException)
            {
                socket.Abort();
                subscriber.Abort?.Invoke();
                await reader;
            }
            finally
            {
                Lease?.Dispose();
                if (socket is HandedOffWebSocket)
                {
                    // Ours since the hand-off; inside Kestrel the endpoint's caller disposes it.
                    socket.Dispose();
                }
            }
        }

        void IWebSocketReceiver.OnMessage(WebSocketMessageType type, ReadOnlySpan<byte> payload) => Dispatch(type, payload);

        void IWebSocketReceiver.OnPongDue() => Subscriber.TryEnqueue(PongDue);

        void IWebSocketReceiver.OnReceiveEnded(Disconnect reason, string? detail, Exception? fault)
        {
            if (fault is not null)
            {
                TransportLog.WebSocketReaderFault(_transport._logger, Label, fault);
            }
            else if (reason != Disconnect.ClientClosed)
            {
                TransportLog.WebSocketClientViolation(_transport._logger, reason.Code, reason.Reason, detail);
            }

            Subscriber.Close(reason, detail: detail);
        }

        // A client message, from either reader: the endpoint's answer, if any, queued to the writer.
        public void Dispatch(WebSocketMessageType type, ReadOnlySpan<byte> payload)
        {
            var reply = type == WebSocketMessageType.Text
                ? _onMessage(payload)
                : ErrorFrame(ErrorCodes.InvalidField, "Binary messages are not accepted.");
            if (reply is not null)
            {
                Subscriber.TryEnqueue(reply);
            }
        }
    }

    // What the reader queues when a ping needs its pong, so that only the writer sends.
    private static readonly HubEvent PongDue = HubEvent.Direct([], new object());

    /// <summary>Writes what the subscriber's queue holds, up to <see cref="WriteBatch"/> items: one wake-up of the writer loop.</summary>
    private async Task WriteBatchAsync(WebSocket socket, LiveSocket live, CancellationToken aborted)
    {
        var subscriber = live.Subscriber;
        // Rented per wake-up, not for the socket's life (as SseTransport does): an idle socket holds no batch.
        var batch = ArrayPool<HubEvent?>.Shared.Rent(WriteBatch);
        // A handed-off socket queues the batch's events and flushes them once at the end, as SSE does: as few sends
        // as the socket takes. (The BCL's WebSocket sends each frame as it is written.)
        var coalesced = socket as HandedOffWebSocket;
        var written = 0;
        long oldest = 0;
        try
        {
            var n = subscriber.Drain(batch.AsSpan(0, WriteBatch));
            for (var i = 0; i < n; i++)
            {
                var item = batch[i]!;
                batch[i] = null;
                if (item.IsHeartbeat)
                {
                    await KeepAliveAsync(socket, subscriber, aborted);
                    continue;
                }

                if (ReferenceEquals(item, PongDue))
                {
                    await TimedAsync(subscriber, ((HandedOffWebSocket)socket).SendPongAsync(aborted));
                    continue;
                }

                if (item.IsDirect)
                {
                    if (item.Control is OperatorMessage { Type: "auth" } auth)
                    {
                        await RefreshAsync(socket, live, auth, aborted);
                    }
                    else if (item.Control is PublishFrame publish)
                    {
                        await PublishAsync(socket, live, publish, aborted);
                    }
                    else if (item.Control is OperatorMessage subscribe)
                    {
                        await SubscribeAsync(socket, live, subscribe, aborted);
                    }
                    else
                    {
                        await SendAsync(socket, subscriber, item.WsFrame, aborted);
                    }

                    continue;
                }

                if (item.Topic.Length == 0)
                {
                    // Addressed to this connection (auth-expiring).
                    await SendAsync(socket, subscriber, item.WsFrame, aborted);
                    continue;
                }

                if (!live.Accepts(item))
                {
                    continue;
                }

                if (item.IsDurable)
                {
                    live.LastSent = item.Id;
                }

                if (coalesced is not null)
                {
                    coalesced.WriteText(item.WsFrame);
                    oldest = written++ == 0 ? item.ReceivedTimestamp : oldest;
                    continue;
                }

                await SendAsync(socket, subscriber, item.WsFrame, aborted);
                metrics.EventsSent.Add(1);
                metrics.DeliveryLatency.Record(Stopwatch.GetElapsedTime(item.ReceivedTimestamp).TotalMilliseconds);
            }

            if (written > 0)
            {
                await TimedAsync(subscriber, coalesced!.FlushAsync(aborted));
                metrics.EventsSent.Add(written);
                metrics.DeliveryLatency.Record(Stopwatch.GetElapsedTime(oldest).TotalMilliseconds);
            }
        }
        finally
        {
            ArrayPool<HubEvent?>.Shared.Return(batch, clearArray: true);
        }
    }

    // Liveness is the protocol's ping, not a text frame. A handed-off socket pings from here, on the node's heartbeat
    // (which comes when the socket has been quiet), and closes one whose peer has sent nothing — not even a pong — for
    // two heartbeat intervals after a ping; a socket inside Kestrel pings from the BCL's own timer (KeepAliveInterval
    // and KeepAliveTimeout, set at the upgrade).
    private async ValueTask KeepAliveAsync(WebSocket socket, Subscriber subscriber, CancellationToken aborted)
    {
        if (socket is not HandedOffWebSocket handedOff)
        {
            subscriber.LastWriteTicks = Environment.TickCount64;
            return;
        }

        var (_, timeout) = KeepAlive();
        if (handedOff.IsPeerSilentSincePing(Environment.TickCount64, (long)timeout.TotalMilliseconds))
        {
            subscriber.Close(Disconnect.PingTimeout);
            return;
        }

        await TimedAsync(subscriber, handedOff.SendPingAsync(aborted));
    }

    private async Task RefreshAsync(WebSocket socket, LiveSocket live, OperatorMessage request, CancellationToken aborted)
    {
        var (fresh, failure) = string.IsNullOrEmpty(request.Token)
            ? (null, "missing token")
            : await access.ValidateTokenAsync(request.Token, allowAppUser: live.Principal is AppUserPrincipal);
        var ok = fresh is not null && live.Lease?.Refresh(fresh) == true;
        var reply = ok
            ? JsonSerializer.SerializeToUtf8Bytes(new { type = "auth_ok", expires_at = live.Lease!.ExpiresAt.UtcDateTime }, HeraldJson.Options)
            : JsonSerializer.SerializeToUtf8Bytes(new { type = "error", error = ErrorCodes.Unauthorized, detail = $"Token not accepted ({failure ?? "another operator's or user's token, or one that no longer grants these topics"})." }, HeraldJson.Options);
        await SendAsync(socket, live.Subscriber, reply, aborted);
    }

    private async Task SubscribeAsync(WebSocket socket, LiveSocket live, OperatorMessage request, CancellationToken aborted)
    {
        live.DialogFilter = request.DialogIds is { } ids ? ids.ToHashSet() : null;
        live.Subscribed = true;
        if (request.LastEventId is { } after)
        {
            await ReplayAsync(socket, live, after, live.DialogFilter, aborted);
        }

        var ack = JsonSerializer.SerializeToUtf8Bytes(new
        {
            type = "subscribed",
            dialog_ids = request.DialogIds,
            all = request.DialogIds is null,
            last_event_id = live.LastSent,
        }, HeraldJson.Options);
        await SendAsync(socket, live.Subscriber, ack, aborted);
    }

    private async Task ReplayAsync(WebSocket socket, LiveSocket live, long after, HashSet<long>? filter, CancellationToken aborted)
    {
        var subscriber = live.Subscriber;
        var result = await replay.ReadAsync(subscriber.Topics, after, aborted);
        if (result.Reset is { } reset)
        {
            await SendAsync(socket, subscriber, reset.WsFrame, aborted);
            live.LastSent = reset.Id;
        }
        else
        {
            // The client has everything up to its position: an event at or below it that reaches this node only now
            // (from the backplane, after the client had it from another node) is not sent again. Never moves back.
            live.LastSent = Math.Max(live.LastSent, after);
        }

        foreach (var item in result.Events)
        {
            if (filter is null || filter.Contains(item.Key))
            {
                await SendAsync(socket, subscriber, item.WsFrame, aborted);
            }

            live.LastSent = Math.Max(live.LastSent, item.Id);
        }
    }

    private async Task ReadAsync(WebSocket socket, LiveSocket live)
    {
        var subscriber = live.Subscriber;
        byte[]? buffer = null;
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                // Wait for the next frame without a buffer, and rent one only for the message: an idle socket then holds
                // none (4 KB each for its whole life otherwise — the shared pool keeps only a few arrays per size).
                var result = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                var length = 0;
                if (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close)
                {
                    buffer = ArrayPool<byte>.Shared.Rent(MaxIncomingMessage);
                    do
                    {
                        if (length == MaxIncomingMessage)
                        {
                            subscriber.Close(Disconnect.MessageTooBig);
                            return;
                        }

                        result = await socket.ReceiveAsync(buffer.AsMemory(length, MaxIncomingMessage - length), CancellationToken.None);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                live.Dispatch(result.MessageType, buffer.AsSpan(0, length));
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            subscriber.Close(Disconnect.ClientClosed);
        }
    }

    private static ValueTask SendAsync(WebSocket socket, Subscriber subscriber, ReadOnlyMemory<byte> text, CancellationToken aborted) =>
        TimedAsync(subscriber, socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, aborted));

    // Every write to the socket: the heartbeat loop aborts the connection if one is still pending after the write
    // timeout (WriteStartedTicks), and sends no heartbeat while writes go out (LastWriteTicks).
    private static async ValueTask TimedAsync(Subscriber subscriber, ValueTask write)
    {
        subscriber.WriteStartedTicks = Environment.TickCount64;
        await write;
        subscriber.WriteStartedTicks = 0;
        subscriber.LastWriteTicks = Environment.TickCount64;
    }

    private async Task<WebSocket> AcceptAsync(HttpContext context)
    {
        var (interval, timeout) = KeepAlive();
        return await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = interval, KeepAliveTimeout = timeout });
    }

    // Protocol pings on idle sockets; a peer that does not answer within the timeout is closed as dead.
    private (TimeSpan Interval, TimeSpan Timeout) KeepAlive() => (host.Options.HeartbeatInterval, host.Options.HeartbeatInterval * 2);

    private Task CloseAsync(WebSocket socket, ApiError error)
    {
        var disconnect = Disconnect.ForRefusal(error.Status, error.Code);
        TransportLog.WebSocketRefused(_logger, disconnect.Code, error.Code);
        return CloseAsync(socket, disconnect.Code, error.Detail);
    }

    /// <summary>Closes with the disconnect's code; the close reason is its reason, then <c>: detail</c> when there is one.</summary>
    private static Task CloseAsync(WebSocket socket, Disconnect disconnect, string? detail) =>
        CloseAsync(socket, disconnect.Code, detail is null ? disconnect.Reason : $"{disconnect.Reason}: {detail}");

    private static async Task CloseAsync(WebSocket socket, int code, string reason)
    {
        if (socket.State != WebSocketState.Open && socket.State != WebSocketState.CloseReceived)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, Truncate(reason), timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }

    // RFC 6455: the close reason is at most 123 bytes of UTF-8.
    private static string Truncate(string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) <= 123)
        {
            return reason;
        }

        var cut = reason[..Math.Min(reason.Length, 120)];
        while (Encoding.UTF8.GetByteCount(cut) > 120)
        {
            cut = cut[..^1];
        }

        return cut + "...";
    }

    // Seed 002's client pings with the bare text "ping"; it gets the JSON ping's answer. Anything else is one JSON
    // message of the socket's shape; what is not gets an error frame and the socket stays open. Null: read it.
    private static HubEvent? ReadMessage<T>(ReadOnlySpan<byte> text, string shapes, out T? message) where T : class
    {
        message = null;
        if (text.Trim(" \t\r\n"u8).SequenceEqual("ping"u8))
        {
            return HubEvent.Direct(JsonPong);
        }

        try
        {
            message = JsonSerializer.Deserialize<T>(text, HeraldJson.Options);
            return null;
        }
        catch (JsonException)
        {
            return ErrorFrame(ErrorCodes.InvalidJson, $"Messages are \"ping\" or JSON objects: {shapes}.");
        }
    }

    private static HubEvent ErrorFrame(string code, string detail) =>
        HubEvent.Direct(JsonSerializer.SerializeToUtf8Bytes(new { type = "error", error = code, detail }, HeraldJson.Options));

    private sealed record OperatorMessage(string? Type, long[]? DialogIds, long? LastEventId, string? Token);
}
