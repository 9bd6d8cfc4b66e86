namespace Herald.Bench.Load;

/// <summary>
/// The WebSocket side of a load-generator connection (RFC 6455), shared by the SignalR client and Herald's own
/// sockets: server frames parsed incrementally (byte by byte for headers, by span for payloads, so a frame cut by a
/// read boundary needs no copy of its own), pings answered with a masked pong, a close frame ending the connection.
/// What a data frame's payload means is the subclass's (<see cref="OnPayload"/>).
/// </summary>
/// <remarks>Client frames are masked (§5.3) with a fixed key: the server only has to unmask them.</remarks>
internal abstract class WebSocketLoadConnection(int index, int topic, byte[] request) : LoadConnection(index, topic, request)
{
    /// <summary>The client half of an upgrade with a fixed key (the bench does not check the server's accept value).</summary>
    public const string UpgradeHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    protected const byte OpContinuation = 0x0;
    protected const byte OpText = 0x1;
    protected const byte OpBinary = 0x2;
    private const byte OpClose = 0x8;
    private const byte OpPing = 0x9;
    private const byte OpPong = 0xA;
    private const byte MaxControlPayload = 125;

    private static readonly byte[] MaskKey = [0x5A, 0x3C, 0x96, 0xE1];

    // The frame being parsed.
    private FrameState _frame = FrameState.Start;
    private byte _opcode;
    private int _lengthBytes;
    private long _payloadRemaining;
    private byte[]? _control;
    private int _controlLength;

    private enum FrameState
    {
        Start,
        Length,
        ExtendedLength,
        Payload,
    }

    /// <summary>
    /// A piece of a data frame's payload; <paramref name="endOfFrame"/> on the last piece of the frame (a frame of
    /// several reads comes in several pieces).
    /// </summary>
    protected abstract bool OnPayload(ReadOnlySpan<byte> payload, bool endOfFrame, long now, IDeliverySink sink, out string? failure);

    // Server frames: FIN/opcode byte, then length (7 bits, or 126 + 16 bits, or 127 + 64 bits), unmasked.
    protected bool Frames(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        while (!data.IsEmpty)
        {
            switch (_frame)
            {
                case FrameState.Start:
                    _opcode = (byte)(data[0] & 0x0F);
                    data = data[1..];
                    _frame = FrameState.Length;
                    break;
                case FrameState.Length:
                    {
                        var b = data[0];
                        data = data[1..];
                        if ((b & 0x80) != 0)
                        {
                            failure = "ws-masked-server-frame";
                            return false;
                        }

                        var length = b & 0x7F;
                        _payloadRemaining = length < 126 ? length : 0;
                        _lengthBytes = length switch { 126 => 2, 127 => 8, _ => 0 };
                        _controlLength = 0;
                        _frame = _lengthBytes > 0 ? FrameState.ExtendedLength : FrameState.Payload;
                        if (_frame == FrameState.Payload && _payloadRemaining == 0 && !EmptyFrame(now, sink, out failure))
                        {
                            return false;
                        }

                        break;
                    }

                case FrameState.ExtendedLength:
                    _payloadRemaining = (_payloadRemaining << 8) | data[0];
                    data = data[1..];
                    if (--_lengthBytes == 0)
                    {
                        _frame = FrameState.Payload;
                        if (_payloadRemaining == 0 && !EmptyFrame(now, sink, out failure))
                        {
                            return false;
                        }
                    }

                    break;
                case FrameState.Payload:
                    {
                        var n = (int)Math.Min(_payloadRemaining, data.Length);
                        var payload = data[..n];
                        data = data[n..];
                        _payloadRemaining -= n;
                        if (_opcode is OpText or OpBinary or OpContinuation)
                        {
                            if (!OnPayload(payload, _payloadRemaining == 0, now, sink, out failure))
                            {
                                return false;
                            }
                        }
                        else if (_controlLength + n <= MaxControlPayload)
                        {
                            _control ??= new byte[MaxControlPayload];
                            payload.CopyTo(_control.AsSpan(_controlLength));
                            _controlLength += n;
                        }

                        if (_payloadRemaining == 0 && !EndOfFrame(now, sink, out failure))
                        {
                            return false;
                        }

                        break;
                    }
            }
        }

        return true;
    }

    // A frame without payload: a data frame's (empty) end still reaches the subclass.
    private bool EmptyFrame(long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        return (_opcode is not (OpText or OpBinary or OpContinuation) || OnPayload([], true, now, sink, out failure)) && EndOfFrame(now, sink, out failure);
    }

    private bool EndOfFrame(long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        _frame = FrameState.Start;
        switch (_opcode)
        {
            case OpClose:
                failure = _controlLength >= 2 ? "ws-close-" + ((_control![0] << 8) | _control[1]) : "ws-close";
                return false;
            case OpPing:
                {
                    Span<byte> pong = stackalloc byte[2 + 4 + MaxControlPayload];
                    var length = MaskedFrame(OpPong, _control.AsSpan(0, _controlLength), pong);
                    SendAll(pong[..length]);
                    sink.OnComment();
                    return true;
                }

            default:
                return true; // data frames were consumed as they came; a pong needs nothing
        }
    }

    protected static byte[] MaskedFrame(byte opcode, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[payload.Length + 8];
        return frame[..MaskedFrame(opcode, payload, frame)];
    }

    // FIN + opcode, mask bit + length, the masking key, the payload XORed with it (RFC 6455 §5.2, §5.3).
    protected static int MaskedFrame(byte opcode, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        destination[0] = (byte)(0x80 | opcode);
        var offset = 2;
        if (payload.Length < 126)
        {
            destination[1] = (byte)(0x80 | payload.Length);
        }
        else
        {
            destination[1] = 0x80 | 126;
            destination[2] = (byte)(payload.Length >> 8);
            destination[3] = (byte)payload.Length;
            offset = 4;
        }

        MaskKey.CopyTo(destination[offset..]);
        offset += 4;
        for (var i = 0; i < payload.Length; i++)
        {
            destination[offset + i] = (byte)(payload[i] ^ MaskKey[i & 3]);
        }

        return offset + payload.Length;
    }
}
