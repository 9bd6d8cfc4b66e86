using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Herald.Protocol;

/// <summary>
/// Encodes the JSON text that WebSocket and long-poll clients receive for one event: the SSE <c>data</c>
/// object with the event id (and the event name when it is not <c>message</c>) added in front.
/// </summary>
/// <remarks>
/// <c>{"type":"message:new","message":{...}}</c> with id 17 becomes
/// <c>{"event_id":17,"type":"message:new","message":{...}}</c>. A payload that is not a JSON object is
/// wrapped: <c>{"event_id":17,"event":"progress","data":42}</c>. Built once per event, shared by all sockets.
/// </remarks>
public static class WsFrame
{
    public static byte[] Encode(long id, string eventName, ReadOnlySpan<byte> jsonData)
    {
        var writer = new ArrayBufferWriter<byte>(jsonData.Length + 48);
        var isObject = jsonData.Length >= 2 && jsonData[0] == (byte)'{' && jsonData[^1] == (byte)'}';
        var first = true;
        Write(writer, "{"u8);
        if (id > 0)
        {
            Write(writer, "\"event_id\":"u8);
            Utf8Formatter.TryFormat(id, writer.GetSpan(20), out var n);
            writer.Advance(n);
            first = false;
        }

        if (!isObject || eventName != "message")
        {
            // Event names are restricted to [A-Za-z0-9_.:-] (ProtocolNames), so they need no JSON escaping.
            Write(writer, first ? "\"event\":\""u8 : ",\"event\":\""u8);
            Encoding.ASCII.GetBytes(eventName, writer.GetSpan(eventName.Length));
            writer.Advance(eventName.Length);
            Write(writer, "\""u8);
            first = false;
        }

        if (isObject)
        {
            var inner = jsonData[1..^1].Trim(" \t\r\n"u8);
            if (!inner.IsEmpty)
            {
                if (!first)
                {
                    Write(writer, ","u8);
                }

                Write(writer, inner);
            }
        }
        else
        {
            Write(writer, first ? "\"data\":"u8 : ",\"data\":"u8);
            Write(writer, jsonData);
        }

        Write(writer, "}"u8);
        return writer.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }
}
