using System.Buffers.Text;
using System.Text;

namespace Herald.Bench.Load;

/// <summary>
/// One of Herald's own WebSockets (seed 001's dialog sockets, <c>/ws/topics</c>): the upgrade, then one JSON text
/// message per event with its <c>event_id</c> and the <c>bench:topic:seq:ticks</c> marker in its data. The server's
/// protocol pings are answered (<see cref="WebSocketLoadConnection"/>) and counted as heartbeats.
/// </summary>
internal sealed class HeraldWsConnection(int index, int topic, string target, int port)
    : WebSocketLoadConnection(index, topic, Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{UpgradeHeaders}\r\n"))
{
    public override bool OnBytes(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        LastByteTicks = now;
        if (State == ConnectionState.AwaitingHeaders)
        {
            var consumed = ReadHead(data, 101, out _, out failure);
            if (consumed < 0)
            {
                return failure is null;
            }

            CarryLength = 0;
            State = ConnectionState.Streaming;
            data = data[consumed..];
        }

        return Frames(data, now, sink, out failure);
    }

    // Herald sends each message as one frame; a frame cut by a read boundary is put together in the carry buffer.
    protected override bool OnPayload(ReadOnlySpan<byte> payload, bool endOfFrame, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        if (!endOfFrame || CarryLength > 0)
        {
            if (!AppendCarry(payload))
            {
                failure = "message-too-long";
                return false;
            }

            if (!endOfFrame)
            {
                return true;
            }

            OnMessage(Carried, now, sink);
            CarryLength = 0;
            return true;
        }

        OnMessage(payload, now, sink);
        return true;
    }

    private void OnMessage(ReadOnlySpan<byte> message, long now, IDeliverySink sink)
    {
        var marker = message.IndexOf("bench:"u8);
        if (marker >= 0 && TryParseMarker(message[(marker + 6)..], out var topic, out var seq, out var ticks))
        {
            sink.OnDelivery(this, topic, seq, ticks, now);
        }

        var idAt = message.IndexOf("\"event_id\":"u8);
        if (idAt >= 0 && Utf8Parser.TryParse(message[(idAt + 11)..], out long id, out _) && id > 0)
        {
            if (id <= LastId)
            {
                sink.OnOutOfOrder();
            }
            else
            {
                LastId = id;
            }
        }
    }
}
