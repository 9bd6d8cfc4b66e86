using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Herald.Protocol;
using Microsoft.AspNetCore.Connections;

namespace Herald.Server.Transports.Handoff;

/// <summary>What a <see cref="HandedOffWebSocket"/>'s reader hands on, on the thread that read the bytes.</summary>
internal interface IWebSocketReceiver
{
    /// <summary>A whole message: unmasked, reassembled from its fragments, a text message checked for UTF-8. The span is only valid during the call.</summary>
    void OnMessage(WebSocketMessageType type, ReadOnlySpan<byte> payload);

    /// <summary>A ping arrived; the sender owes <see cref="HandedOffWebSocket.SendPongAsync"/>.</summary>
    void OnPongDue();

    /// <summary>
    /// The reader has stopped for good: the peer's close frame or end of input (<see cref="Disconnect.ClientClosed"/>),
    /// or a frame that breaks RFC 6455 or the size limit (the disconnect to close with, and what was wrong), or an
    /// exception no input should cause (<paramref name="fault"/>: a bug, ended like the client's close).
    /// </summary>
    void OnReceiveEnded(Disconnect reason, string? detail, Exception? fault);
}

/// <summary>
/// The server side of RFC 6455 over a handed-off connection's pipes: what a WebSocket is once
/// <see cref="ConnectionHandoff"/> has taken it from Kestrel, with nothing of its own held while it is idle.
/// </summary>
/// <remarks>
/// <para><b>Why not <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>.</b> The BCL's
/// WebSocket is read by awaiting <c>ReceiveAsync</c>, so an idle socket holds three suspended frames (the caller's
/// loop, <c>ManagedWebSocket.ReceiveAsyncPrivate</c>, the stream's read), its header buffer and a keep-alive timer per
/// socket: 1.58 KB more than an idle SSE stream (docs/benchmarks.md, "Round three"). Here the connection's input pipe
/// calls one cached delegate when bytes arrive; frames are parsed from what the pipe already holds, synchronously, and
/// whole messages pushed to an <see cref="IWebSocketReceiver"/>. Pings go out from the node's heartbeat
/// (<see cref="SendPingAsync"/>, <see cref="IsPeerSilentSincePing"/>) instead of a timer per socket.</para>
/// <para><b>What it implements.</b> The handshake is Kestrel's (the 101 went out before the hand-off) and no extension
/// is negotiated, so: masked client frames (an unmasked one is a protocol error, RFC 6455 5.1), no reserved bits,
/// opcodes 0–2 and 8–10, control frames of at most 125 bytes and never fragmented, fragmented messages reassembled
/// up to the message limit (1009 beyond it), control frames between fragments, text messages and close reasons
/// checked for UTF-8 (1007), close codes checked (1002), a close frame answered by the owner's close. Sending: whole
/// or fragmented text and binary messages, unmasked; pings, pongs and close frames.</para>
/// <para><b>Threads.</b> One sender at a time (the transport's writer loop), as for the BCL's WebSocket; the reader
/// runs on the pipe's completions and never sends — a ping's pong is owed to the sender through
/// <see cref="IWebSocketReceiver.OnPongDue"/>. <see cref="ReceiveAsync(ArraySegment{byte}, CancellationToken)"/> is
/// not supported: messages are pushed (<see cref="StartReceiving"/>).</para>
/// </remarks>
internal sealed class HandedOffWebSocket : WebSocket
{
    private const int MaxControlPayload = 125;
    private const int MaxHeader = 14;
    private const byte OpContinuation = 0x0, OpText = 0x1, OpBinary = 0x2, OpClose = 0x8, OpPing = 0x9, OpPong = 0xA;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly int _maxMessage;
    private IWebSocketReceiver? _receiver;
    private Action? _onReadable;
    private ValueTaskAwaiter<ReadResult> _pendingRead;

    private SeldomState? _seldom;
    private long _lastReceivedTicks = Environment.TickCount64;

    // When the oldest ping not yet followed by anything from the peer went out; 0 when none is outstanding.
    private long _unansweredPingTicks;
    private int _state = (int)WebSocketState.Open;

    // 0 while reading; 1 once the reader has ended. The task (SeldomState.ReceiveEndedSignal) is made only when somebody
    // waits for that end.
    private int _receiveEnded;

    public HandedOffWebSocket(IDuplexPipe transport, int maxMessage)
    {
        _input = transport.Input;
        _output = transport.Output;
        _maxMessage = maxMessage;
    }

    public override WebSocketCloseStatus? CloseStatus => Volatile.Read(ref _seldom)?.CloseStatus;

    public override string? CloseStatusDescription => Volatile.Read(ref _seldom)?.CloseDescription;

    public override WebSocketState State => (WebSocketState)Volatile.Read(ref _state);

    public override string? SubProtocol => null;

    // Environment.TickCount64 when the peer last sent anything (a pong included).
    private long LastReceivedTicks => Volatile.Read(ref _lastReceivedTicks);

    /// <summary>
    /// True when a ping went out more than <paramref name="timeoutMs"/> ago and the peer has sent nothing since. Counted
    /// from the ping, not from the peer's last frame: a client that only listens sends nothing while events flow to it,
    /// and must not be taken for dead the first time the socket goes quiet.
    /// </summary>
    public bool IsPeerSilentSincePing(long now, long timeoutMs)
    {
        var pinged = _unansweredPingTicks;
        return pinged != 0 && LastReceivedTicks < pinged && now - pinged > timeoutMs;
    }

    /// <summary>Starts pushing the peer's messages to <paramref name="receiver"/>; once.</summary>
    public void StartReceiving(IWebSocketReceiver receiver)
    {
        if (_receiver is not null)
        {
            throw new InvalidOperationException("Already receiving.");
        }

        _receiver = receiver;
        _onReadable = OnReadable;
        ReadMore();
    }

    /// <summary>Completes when the reader has ended (the peer's close frame, its end of input, a violation, <see cref="Abort"/>).</summary>
    public Task WhenReceiveEnded()
    {
        if (Volatile.Read(ref _receiveEnded) == 1)
        {
            return Task.CompletedTask;
        }

        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var current = Interlocked.CompareExchange(ref Seldom.ReceiveEndedSignal, signal, null) ?? signal;
        // The reader may have ended between the check and the exchange, before it could see the signal.
        if (Volatile.Read(ref _receiveEnded) == 1)
        {
            current.TrySetResult();
        }

        return current.Task;
    }

    private void ReadMore()
    {
        try
        {
            while (true)
            {
                // Consumed exactly once: here when it completed at once, or by OnReadable through the kept awaiter.
#pragma warning disable CA2012
                var read = _input.ReadAsync();
#pragma warning restore CA2012
                if (!read.IsCompleted)
                {
                    _pendingRead = read.GetAwaiter();
                    _pendingRead.UnsafeOnCompleted(_onReadable!);
                    return;
                }

                if (!Consume(read.Result))
                {
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            // On a pipe callback nothing above would catch it: an exception that escaped would end the process.
            EndReceive(Disconnect.ClientClosed, null, IsConnectionEnd(ex) ? null : ex);
        }
    }

    // The pipe's ways of saying the connection is gone (reset, aborted, completed under a late read).
    private static bool IsConnectionEnd(Exception ex) => ex is IOException or ConnectionAbortedException or InvalidOperationException;

    private void OnReadable()
    {
        try
        {
            var result = _pendingRead.GetResult();
            _pendingRead = default;
            if (!Consume(result))
            {
                return;
            }
        }
        catch (Exception ex)
        {
            EndReceive(Disconnect.ClientClosed, null, IsConnectionEnd(ex) ? null : ex);
            return;
        }

        ReadMore();
    }

    // Parses every whole frame the pipe holds; false once the reader has ended.
    private bool Consume(ReadResult result)
    {
        var buffer = result.Buffer;
        if (!buffer.IsEmpty)
        {
            Volatile.Write(ref _lastReceivedTicks, Environment.TickCount64);
        }

        Disconnect? end = null;
        string? detail = null;
        try
        {
            while (end is null && TryReadFrame(ref buffer, out end, out detail))
            {
            }
        }
        finally
        {
            // Consumed up to the last whole frame; examined everything, so the next read waits for more bytes.
            _input.AdvanceTo(buffer.Start, buffer.End);
        }

        if (end is null && (result.IsCompleted || result.IsCanceled || State == WebSocketState.Aborted))
        {
            end = Disconnect.ClientClosed;
        }

        if (end is not null)
        {
            EndReceive(end, detail);
            return false;
        }

        return true;
    }

    // One frame off the front of the buffer: false when it is not all there yet, or when the reader ends (end set).
    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out Disconnect? end, out string? detail)
    {
        end = null;
        detail = null;
        if (buffer.Length < 2)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[MaxHeader];
        var available = (int)Math.Min(MaxHeader, buffer.Length);
        buffer.Slice(0, available).CopyTo(header);
        var fin = (header[0] & 0x80) != 0;
        var opcode = (byte)(header[0] & 0x0F);
        var masked = (header[1] & 0x80) != 0;
        long length = header[1] & 0x7F;
        var headerLength = 2;
        if (length == 126)
        {
            headerLength = 4;
        }
        else if (length == 127)
        {
            headerLength = 10;
        }

        if (masked)
        {
            headerLength += 4;
        }

        if (available < headerLength)
        {
            return false;
        }

        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        }
        else if (length == 127)
        {
            var wide = BinaryPrimitives.ReadUInt64BigEndian(header[2..]);
            length = wide > long.MaxValue ? -1 : (long)wide;
        }

        // The reader's alone: the message being reassembled from fragments, if any.
        var seldom = _seldom;
        var fragments = seldom?.Fragments;
        var violation = (header[0] & 0x70) != 0 ? "reserved bits set, and no extension was negotiated"
            : !masked ? "a client frame was not masked (RFC 6455 5.1)"
            : length < 0 ? "the most significant bit of a 64-bit length was set"
            : opcode is > OpBinary and < OpClose or > OpPong ? $"unknown opcode {opcode}"
            : opcode >= OpClose && !fin ? "a fragmented control frame"
            : opcode >= OpClose && length > MaxControlPayload ? "a control frame over 125 bytes"
            : opcode == OpContinuation && fragments is null ? "a continuation frame with no message to continue"
            : opcode is OpText or OpBinary && fragments is not null ? "a new message before the fragmented one ended"
            : null;
        if (violation is not null)
        {
            (end, detail) = (Disconnect.ProtocolError, violation);
            return false;
        }

        if (opcode < OpClose && (fragments is null ? 0 : seldom!.FragmentsLength) + length > _maxMessage)
        {
            (end, detail) = (Disconnect.MessageTooBig, null);
            return false;
        }

        if (buffer.Length < headerLength + length)
        {
            return false;
        }

        var mask = BinaryPrimitives.ReadUInt32LittleEndian(header[(headerLength - 4)..]);
        var payload = buffer.Slice(headerLength, length);
        buffer = buffer.Slice(headerLength + length);
        switch (opcode)
        {
            case OpPing:
                var pong = new byte[payload.Length];
                Unmask(payload, mask, pong);
                Volatile.Write(ref Seldom.PongPayload, pong);
                _receiver!.OnPongDue();
                return true;
            case OpPong:
                return true;
            case OpClose:
                (end, detail) = ReadClose(payload, mask);
                return false;
        }

        if (fin && fragments is null)
        {
            // A whole message in one frame, the common case: unmasked into a buffer borrowed for the call.
            var whole = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                var span = whole.AsSpan(0, (int)length);
                Unmask(payload, mask, span);
                return Deliver(opcode, span, out end, out detail);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(whole);
            }
        }

        seldom = Seldom;
        if (fragments is null)
        {
            // A fragmented message: rented at its first fragment, returned when it ends.
            seldom.Fragments = fragments = ArrayPool<byte>.Shared.Rent(_maxMessage);
            seldom.FragmentsOpcode = opcode;
        }

        Unmask(payload, mask, fragments.AsSpan(seldom.FragmentsLength, (int)length));
        seldom.FragmentsLength += (int)length;
        if (!fin)
        {
            return true;
        }

        try
        {
            return Deliver(seldom.FragmentsOpcode, fragments.AsSpan(0, seldom.FragmentsLength), out end, out detail);
        }
        finally
        {
            ReturnFragments();
        }
    }

    private bool Deliver(byte opcode, ReadOnlySpan<byte> message, out Disconnect? end, out string? detail)
    {
        if (opcode == OpText && !Utf8.IsValid(message))
        {
            (end, detail) = (Disconnect.InvalidPayload, "a text message was not valid UTF-8");
            return false;
        }

        (end, detail) = (null, null);
        _receiver!.OnMessage(opcode == OpText ? WebSocketMessageType.Text : WebSocketMessageType.Binary, message);
        return true;
    }

    // The peer's close frame: its code and reason kept, the reader ended (RFC 6455: nothing follows a close frame).
    private (Disconnect End, string? Detail) ReadClose(ReadOnlySequence<byte> payload, uint mask)
    {
        if (payload.Length == 1)
        {
            return (Disconnect.ProtocolError, "a close frame with a one-byte payload");
        }

        if (payload.Length >= 2)
        {
            Span<byte> body = stackalloc byte[MaxControlPayload];
            body = body[..(int)payload.Length];
            Unmask(payload, mask, body);
            var code = BinaryPrimitives.ReadUInt16BigEndian(body);
            if (!IsValidCloseCode(code))
            {
                return (Disconnect.ProtocolError, $"close code {code} may not be sent");
            }

            if (!Utf8.IsValid(body[2..]))
            {
                return (Disconnect.InvalidPayload, "a close reason that was not valid UTF-8");
            }

            Seldom.CloseDescription = Encoding.UTF8.GetString(body[2..]);
            Seldom.CloseStatus = (WebSocketCloseStatus)code;
        }
        else
        {
            Seldom.CloseStatus = WebSocketCloseStatus.Empty;
        }

        // Open → CloseReceived; CloseSent (our close answered) → Closed.
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.CloseReceived, (int)WebSocketState.Open) != (int)WebSocketState.Open)
        {
            Interlocked.CompareExchange(ref _state, (int)WebSocketState.Closed, (int)WebSocketState.CloseSent);
        }

        return (Disconnect.ClientClosed, null);
    }

    // RFC 6455 7.4 and IANA's registry: what an endpoint may put in a close frame.
    private static bool IsValidCloseCode(int code) => code is >= 1000 and <= 1003 or >= 1007 and <= 1014 or >= 3000 and <= 4999;

    private static void Unmask(ReadOnlySequence<byte> payload, uint mask, Span<byte> destination)
    {
        payload.CopyTo(destination);
        destination = destination[..(int)payload.Length];
        // The key applies byte by byte from the payload's first byte: i-th byte XOR key[i % 4].
        var i = 0;
        for (; i + 4 <= destination.Length; i += 4)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(destination[i..]);
            BinaryPrimitives.WriteUInt32LittleEndian(destination[i..], word ^ mask);
        }

        for (; i < destination.Length; i++)
        {
            destination[i] ^= (byte)(mask >> (8 * (i & 3)));
        }
    }

    private void EndReceive(Disconnect reason, string? detail, Exception? fault = null)
    {
        if (Interlocked.Exchange(ref _receiveEnded, 1) == 1)
        {
            return;
        }

        ReturnFragments();
        _receiver?.OnReceiveEnded(reason, detail, fault);
        if (Volatile.Read(ref _seldom) is { } seldom)
        {
            Volatile.Read(ref seldom.ReceiveEndedSignal)?.TrySetResult();
        }
    }

    private void ReturnFragments()
    {
        if (_seldom is { Fragments: { } fragments } seldom)
        {
            seldom.Fragments = null;
            seldom.FragmentsLength = 0;
            ArrayPool<byte>.Shared.Return(fragments);
        }
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (messageType is not (WebSocketMessageType.Text or WebSocketMessageType.Binary))
        {
            throw new ArgumentException("Send text or binary messages; close with CloseOutputAsync.", nameof(messageType));
        }

        ThrowIfCannotSend();
        var sendingFragments = _seldom?.SendingFragments == true;
        var opcode = sendingFragments ? OpContinuation : messageType == WebSocketMessageType.Text ? OpText : OpBinary;
        if (sendingFragments != !endOfMessage)
        {
            Seldom.SendingFragments = !endOfMessage;
        }

        return WriteFrameAsync(opcode, endOfMessage, buffer.Span, cancellationToken);
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    /// <summary>A ping with no payload: from the node's heartbeat, which closes a socket that answers none (<see cref="IsPeerSilentSincePing"/>).</summary>
    public ValueTask SendPingAsync(CancellationToken cancellationToken)
    {
        ThrowIfCannotSend();
        var now = Environment.TickCount64;
        if (_unansweredPingTicks == 0 || LastReceivedTicks >= _unansweredPingTicks)
        {
            _unansweredPingTicks = now;
        }

        return WriteFrameAsync(OpPing, true, default, cancellationToken);
    }

    /// <summary>The pong owed for the latest ping (RFC 6455 5.5.3: only the latest needs an answer); nothing when none is owed.</summary>
    public ValueTask SendPongAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _seldom) is not { } seldom
            || Interlocked.Exchange(ref seldom.PongPayload, null) is not { } payload || State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return ValueTask.CompletedTask;
        }

        return WriteFrameAsync(OpPong, true, payload, cancellationToken);
    }

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        var reason = Encoding.UTF8.GetBytes(statusDescription ?? "");
        if (reason.Length > MaxControlPayload - 2)
        {
            throw new ArgumentException("A close reason is at most 123 bytes of UTF-8.", nameof(statusDescription));
        }

        // Open → CloseSent; CloseReceived (answering the peer's close) → Closed; anything else has nothing to send.
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.CloseSent, (int)WebSocketState.Open) != (int)WebSocketState.Open
            && Interlocked.CompareExchange(ref _state, (int)WebSocketState.Closed, (int)WebSocketState.CloseReceived) != (int)WebSocketState.CloseReceived)
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"Cannot send a close frame in state {State}.");
        }

        Span<byte> body = stackalloc byte[MaxControlPayload];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)closeStatus);
        reason.CopyTo(body[2..]);
        return WriteFrameAsync(OpClose, true, body[..(2 + reason.Length)], cancellationToken).AsTask();
    }

    public override async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        if (State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await CloseOutputAsync(closeStatus, statusDescription, cancellationToken);
        }

        await WhenReceiveEnded().WaitAsync(cancellationToken);
    }

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
        throw new NotSupportedException("A handed-off WebSocket pushes its messages to the receiver given to StartReceiving.");

    public override void Abort()
    {
        Volatile.Write(ref _state, (int)WebSocketState.Aborted);
        _input.CancelPendingRead();
        _output.CancelPendingFlush();
    }

    public override void Dispose()
    {
        // The connection's end: the middleware that ran the socket returns and Kestrel closes it. A reader still
        // waiting is woken first (it ends on the cancelled read), so nothing reads a completed pipe.
        if (State is not (WebSocketState.Closed or WebSocketState.Aborted))
        {
            Volatile.Write(ref _state, (int)WebSocketState.Closed);
        }

        if (Volatile.Read(ref _receiveEnded) == 0)
        {
            _input.CancelPendingRead();
        }

        _input.Complete();
        _output.Complete();
    }

    /// <summary>The <see cref="SeldomState"/>, made the first time either side needs it.</summary>
    private SeldomState Seldom => Volatile.Read(ref _seldom) ?? Interlocked.CompareExchange(ref _seldom, new SeldomState(), null) ?? _seldom!;

    /// <summary>
    /// What a socket needs only now and then — a fragmented message in either direction, a ping's payload to echo, the
    /// peer's close, somebody waiting for the reader's end — kept apart and made on first use: every idle socket holds
    /// its fields for its whole life otherwise (~40 bytes each, S1's heap snapshot).
    /// </summary>
    private sealed class SeldomState
    {
        // The reader's: the fragmented message being reassembled.
        public byte[]? Fragments;
        public int FragmentsLength;
        public byte FragmentsOpcode;

        // The sender's: a message is being sent in fragments (SendAsync with endOfMessage false).
        public bool SendingFragments;

        // Set by the reader, taken by the sender.
        public byte[]? PongPayload;

        public WebSocketCloseStatus? CloseStatus;
        public string? CloseDescription;
        public TaskCompletionSource? ReceiveEndedSignal;
    }

    private void ThrowIfCannotSend()
    {
        if (State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"Cannot send in state {State}.");
        }
    }

    /// <summary>
    /// A whole text message written to the connection's output without a flush: the writer loop queues a batch's
    /// events this way and flushes once (<see cref="FlushAsync"/>), so a batch leaves in as few sends as the socket takes.
    /// </summary>
    public void WriteText(ReadOnlySpan<byte> text)
    {
        ThrowIfCannotSend();
        if (_seldom?.SendingFragments == true)
        {
            throw new InvalidOperationException("A fragmented message is being sent.");
        }

        WriteFrame(OpText, true, text);
    }

    /// <summary>Sends what <see cref="WriteText"/> queued; no state machine unless the socket makes it wait.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var flush = _output.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            return IsOpen(flush.Result) ? ValueTask.CompletedTask : throw ConnectionClosed();
        }

        return AwaitFlushAsync(flush);

        static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush)
        {
            if (!IsOpen(await flush))
            {
                throw ConnectionClosed();
            }
        }
    }

    // One frame, header and payload, then a flush.
    private ValueTask WriteFrameAsync(byte opcode, bool fin, ReadOnlySpan<byte> payload, CancellationToken cancellationToken)
    {
        WriteFrame(opcode, fin, payload);
        return FlushAsync(cancellationToken);
    }

    private void WriteFrame(byte opcode, bool fin, ReadOnlySpan<byte> payload)
    {
        var header = _output.GetSpan(MaxHeader);
        header[0] = (byte)((fin ? 0x80 : 0) | opcode);
        int headerLength;
        if (payload.Length <= 125)
        {
            header[1] = (byte)payload.Length;
            headerLength = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payload.Length);
            headerLength = 4;
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payload.Length);
            headerLength = 10;
        }

        _output.Advance(headerLength);
        _output.Write(payload);
    }

    // A completed flush: the connection is gone; a cancelled one: Abort() — neither may be written to again.
    private static bool IsOpen(FlushResult flush) => !flush.IsCompleted && !flush.IsCanceled;

    private static IOException ConnectionClosed() => new("The connection was closed.");
}
