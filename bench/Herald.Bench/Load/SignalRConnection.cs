using System.Buffers.Text;
using System.Text;

namespace Herald.Bench.Load;

/// <summary>
/// One ASP.NET Core SignalR client of the load generator, on one TCP connection: <c>POST
/// /hub/negotiate?negotiateVersion=1</c> for a connection token, the WebSocket upgrade <c>GET /hub?id=TOKEN</c>
/// on the same (kept-alive) connection, the JSON hub protocol handshake, a <c>Join</c> invocation for its group,
/// then invocation messages <c>{"type":1,"target":"message","arguments":["bench:…"]}</c>.
/// </summary>
/// <remarks>
/// The WebSocket framing is <see cref="WebSocketLoadConnection"/>'s; text of consecutive data frames (fragments
/// included) is one stream of records separated by 0x1E, as SignalR writes them. The connection counts as
/// established when the server completes the <c>Join</c> invocation, so that no message is published to a group
/// before the subscriber is in it.
/// </remarks>
internal sealed class SignalRConnection(int index, int topic, byte[] negotiateRequest, string group, int port)
    : WebSocketLoadConnection(index, topic, negotiateRequest)
{
    /// <summary>The hub's path on the bench's SignalR server.</summary>
    public const string HubPath = "/hub";

    private const byte RecordSeparator = 0x1E;

    private static readonly byte[] HandshakeFrame = MaskedFrame(OpText, "{\"protocol\":\"json\",\"version\":1}\u001e"u8);
    private static readonly byte[] PingFrame = MaskedFrame(OpText, "{\"type\":6}\u001e"u8);

    private Phase _phase = Phase.Negotiating;

    private enum Phase
    {
        Negotiating,
        Upgrading,
        Handshaking,
        Joining,
        Streaming,
    }

    /// <summary>The negotiate request, the same for every connection to a server.</summary>
    public static byte[] NegotiateRequest(int port) => Encoding.ASCII.GetBytes(
        $"POST {HubPath}/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n");

    /// <summary>
    /// Sends a hub protocol ping. The server closes a connection it has heard nothing from for its client
    /// timeout (30 s); like SignalR's own clients, the worker pings every 15 s.
    /// </summary>
    public void SendPing()
    {
        if (State == ConnectionState.Streaming)
        {
            SendAll(PingFrame);
        }
    }

    public override bool OnBytes(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        LastByteTicks = now;
        switch (_phase)
        {
            case Phase.Negotiating:
                return Negotiate(data, out failure);
            case Phase.Upgrading:
                {
                    var consumed = ReadHead(data, 101, out _, out failure);
                    if (consumed < 0)
                    {
                        return failure is null;
                    }

                    CarryLength = 0;
                    // The handshake and the Join invocation in one write: the server reads the handshake
                    // record, then the invocation after it.
                    Span<byte> join = stackalloc byte[256 + (group.Length * 2)];
                    var joinLength = MaskedFrame(OpText, Encoding.UTF8.GetBytes(
                        $"{{\"type\":1,\"invocationId\":\"0\",\"target\":\"Join\",\"arguments\":[\"{group}\"]}}\u001e"), join);
                    Span<byte> both = stackalloc byte[HandshakeFrame.Length + joinLength];
                    HandshakeFrame.CopyTo(both);
                    join[..joinLength].CopyTo(both[HandshakeFrame.Length..]);
                    if (!SendAll(both))
                    {
                        failure = "send-failed";
                        return false;
                    }

                    _phase = Phase.Handshaking;
                    return Frames(data[consumed..], now, sink, out failure);
                }

            default:
                return Frames(data, now, sink, out failure);
        }
    }

    private bool Negotiate(ReadOnlySpan<byte> data, out string? failure)
    {
        failure = null;
        if (!AppendCarry(data))
        {
            failure = "negotiate-too-long";
            return false;
        }

        var all = Carried;
        var end = all.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return true;
        }

        if (end < 12 || !Utf8Parser.TryParse(all[9..12], out int status, out _) || status != 200)
        {
            failure = end >= 12 ? "negotiate-http-" + Encoding.ASCII.GetString(all[9..12]) : "negotiate-malformed";
            return false;
        }

        var head = all[..end];
        var body = all[(end + 4)..];
        var lengthAt = IndexOfIgnoreCase(head, "content-length:"u8);
        if (lengthAt >= 0)
        {
            if (!Utf8Parser.TryParse(head[(lengthAt + 15)..].TrimStart((byte)' '), out int length, out _) || body.Length < length)
            {
                return true; // body not complete yet
            }
        }
        else if (!body.EndsWith("\r\n0\r\n\r\n"u8))
        {
            return true; // chunked body not complete yet
        }

        var tokenAt = body.IndexOf("\"connectionToken\":\""u8);
        var token = tokenAt < 0 ? [] : body[(tokenAt + 19)..];
        var quote = token.IndexOf((byte)'"');
        if (quote <= 0)
        {
            failure = "negotiate-no-token";
            return false;
        }

        var upgrade = Encoding.ASCII.GetBytes(
            $"GET {HubPath}?id={Encoding.ASCII.GetString(token[..quote])} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{UpgradeHeaders}\r\n");
        CarryLength = 0;
        if (!SendAll(upgrade))
        {
            failure = "send-failed";
            return false;
        }

        _phase = Phase.Upgrading;
        return true;
    }

    protected override bool OnPayload(ReadOnlySpan<byte> payload, bool endOfFrame, long now, IDeliverySink sink, out string? failure) =>
        Records(payload, now, sink, out failure);

    private bool Records(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        if (CarryLength > 0)
        {
            var end = data.IndexOf(RecordSeparator);
            if (end < 0)
            {
                if (!AppendCarry(data))
                {
                    failure = "record-too-long";
                    return false;
                }

                return true;
            }

            if (!AppendCarry(data[..end]))
            {
                failure = "record-too-long";
                return false;
            }

            var ok = OnRecord(Carried, now, sink, out failure);
            CarryLength = 0;
            if (!ok)
            {
                return false;
            }

            data = data[(end + 1)..];
        }

        while (true)
        {
            var end = data.IndexOf(RecordSeparator);
            if (end < 0)
            {
                if (!data.IsEmpty && !AppendCarry(data))
                {
                    failure = "record-too-long";
                    return false;
                }

                return true;
            }

            if (!OnRecord(data[..end], now, sink, out failure))
            {
                return false;
            }

            data = data[(end + 1)..];
        }
    }

    // One hub protocol message (JSON). Only the fields the bench needs are looked at.
    private bool OnRecord(ReadOnlySpan<byte> record, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        if (_phase == Phase.Handshaking)
        {
            // "{}" or {"error":"..."}
            if (record.IndexOf("\"error\""u8) >= 0)
            {
                failure = "handshake-refused";
                return false;
            }

            _phase = Phase.Joining;
            return true;
        }

        var typeAt = record.IndexOf("\"type\":"u8);
        if (typeAt < 0 || !Utf8Parser.TryParse(record[(typeAt + 7)..], out int type, out _))
        {
            return true;
        }

        switch (type)
        {
            case 1: // invocation
                var marker = record.IndexOf("bench:"u8);
                if (marker >= 0 && TryParseMarker(record[(marker + 6)..], out var topic, out var seq, out var ticks))
                {
                    sink.OnDelivery(this, topic, seq, ticks, now);
                }

                return true;
            case 3 when _phase == Phase.Joining: // completion of Join
                if (record.IndexOf("\"error\""u8) >= 0)
                {
                    failure = "join-failed";
                    return false;
                }

                _phase = Phase.Streaming;
                State = ConnectionState.Streaming;
                return true;
            case 6: // ping
                sink.OnComment();
                return true;
            case 7: // close
                failure = "signalr-close";
                return false;
            default:
                return true;
        }
    }
}
