using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Events;

namespace Herald.Server.Backplane;

/// <summary>
/// The backplane's wire format: what one node PUBLISHes and every node decodes back into the same event.
/// </summary>
/// <remarks>
/// <para>The payload is the event's own JSON data, so seed 000's tools see
/// <c>{"type":"message:new","message":{...}, ...}</c> on <c>ws:dialog:{id}</c>, with Herald's fields appended at the
/// end of the object, always in this order and without whitespace:</para>
/// <code>
/// {&lt;data members&gt;,"event_id":17,"event":"message","herald_node":"a1b2","herald_key":0,"herald_ts":1763800000000}
/// </code>
/// <para>A traced event (<see cref="HubEvent.TraceContext"/>) appends its W3C <c>traceparent</c> last,
/// <c>,"herald_trace":"00-&lt;trace id&gt;-&lt;span id&gt;-01"</c>, so the receiving node's <c>herald.deliver</c> span is a
/// child of the publishing node's <c>herald.publish</c>. Payloads without it (every untraced event, and every node
/// before tracing) decode as before. A node older than the member drops a traced payload as foreign and reads the
/// event from the store (its catch-up), so a rolling upgrade with tracing on delays, never loses.</para>
/// <para>A receiver finds the last top-level <c>"event_id"</c> member; everything before its comma, closed with
/// <c>}</c>, is the data exactly as the publisher had it, so no re-encoding happens and every node builds
/// byte-identical frames. Data that is not a JSON object travels as <c>{"herald_data":&lt;data&gt;,"event_id":...}</c>.
/// Ephemeral events carry <c>"event_id":0</c>.</para>
/// <para>On a channel that does not name the topic (the shard channels of sharded mode) the trailer ends with
/// <c>,"herald_topic":"dialog:42"</c>; topic names are JSON-safe (<c>ProtocolNames.IsValidTopic</c>).</para>
/// </remarks>
public static class RedisProtocol
{
    public static byte[] Encode(HubEvent item, string nodeId, bool includeTopic = false)
    {
        var data = item.Data.Span;
        var isObject = data.Length >= 2 && data[0] == (byte)'{' && data[^1] == (byte)'}';
        var writer = new ArrayBufferWriter<byte>(data.Length + 128);
        if (isObject)
        {
            var inner = data[1..^1].Trim(" \t\r\n"u8);
            Write(writer, "{"u8);
            if (!inner.IsEmpty)
            {
                Write(writer, inner);
                Write(writer, ","u8);
            }
        }
        else
        {
            Write(writer, "{\"herald_data\":"u8);
            Write(writer, data);
            Write(writer, ","u8);
        }

        Write(writer, "\"event_id\":"u8);
        WriteNumber(writer, item.Id);
        // Event names and node ids are restricted to JSON-safe characters; no escaping needed.
        Write(writer, ",\"event\":\""u8);
        Write(writer, Encoding.ASCII.GetBytes(item.Type));
        Write(writer, "\",\"herald_node\":\""u8);
        Write(writer, Encoding.ASCII.GetBytes(nodeId));
        Write(writer, "\",\"herald_key\":"u8);
        WriteNumber(writer, item.Key);
        Write(writer, ",\"herald_ts\":"u8);
        WriteNumber(writer, item.CreatedAtMs);
        if (item.IsTraced)
        {
            WriteTraceParent(writer, item.TraceContext);
        }

        if (includeTopic)
        {
            Write(writer, ",\"herald_topic\":\""u8);
            Write(writer, Encoding.ASCII.GetBytes(item.Topic));
            Write(writer, "\""u8);
        }

        Write(writer, "}"u8);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Decodes a payload published by <see cref="Encode"/>; false for anything else (logged and dropped by the caller).
    /// <paramref name="topic"/> is the channel's topic, null when the channel does not say (then the payload must).
    /// </summary>
    public static bool TryDecode(string? topic, ReadOnlyMemory<byte> payload, out HubEvent? item, out string? nodeId)
    {
        item = null;
        nodeId = null;
        try
        {
            var span = payload.Span;
            var reader = new Utf8JsonReader(span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            long id = -1, key = 0, ts = 0;
            string? type = null, trace = null, payloadTopic = null;
            var trailerStart = -1;
            ReadOnlyMemory<byte> wrapped = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var start = (int)reader.TokenStartIndex;
                if (reader.ValueTextEquals("event_id"u8))
                {
                    trailerStart = start;
                    reader.Read();
                    id = reader.GetInt64();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("event"u8))
                {
                    reader.Read();
                    type = reader.GetString();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("herald_node"u8))
                {
                    reader.Read();
                    nodeId = reader.GetString();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("herald_key"u8))
                {
                    reader.Read();
                    key = reader.GetInt64();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("herald_ts"u8))
                {
                    reader.Read();
                    ts = reader.GetInt64();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("herald_trace"u8))
                {
                    reader.Read();
                    trace = reader.GetString();
                    continue;
                }

                if (trailerStart >= 0 && reader.ValueTextEquals("herald_topic"u8))
                {
                    reader.Read();
                    payloadTopic = reader.GetString();
                    continue;
                }

                var isWrapped = reader.ValueTextEquals("herald_data"u8) && start == 1;
                reader.Read();
                var valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                if (isWrapped)
                {
                    wrapped = payload[valueStart..((int)reader.BytesConsumed)];
                }

                // A data member after "event_id": that "event_id" belonged to the data; keep looking for ours.
                trailerStart = -1;
                type = null;
                trace = null;
                payloadTopic = null;
            }

            topic = payloadTopic ?? topic;
            if (trailerStart < 0 || id < 0 || type is null || !ProtocolNames.IsValidEventName(type)
                || topic is null || !ProtocolNames.IsValidTopic(topic))
            {
                return false;
            }

            ReadOnlyMemory<byte> data;
            if (!wrapped.IsEmpty)
            {
                data = wrapped;
            }
            else if (span[trailerStart - 1] == (byte)'{')
            {
                data = "{}"u8.ToArray();
            }
            else
            {
                var bytes = new byte[trailerStart];
                span[..(trailerStart - 1)].CopyTo(bytes);
                bytes[^1] = (byte)'}';
                data = bytes;
            }

            item = new HubEvent(id, topic, type, data, ts, key);
            // A malformed traceparent loses the trace, not the event.
            if (trace is not null && ActivityContext.TryParse(trace, null, isRemote: true, out var context))
            {
                item.TraceContext = context;
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// The topic a payload names in its trailer (sharded mode, <c>...,"herald_topic":"t"}</c>) without decoding the rest, or
    /// null. Lets a node drop the events of topics it does not want for the price of a backwards scan.
    /// </summary>
    public static string? PeekTopic(ReadOnlySpan<byte> payload)
    {
        ReadOnlySpan<byte> member = ",\"herald_topic\":\""u8;
        if (payload.Length < member.Length + 3 || payload[^1] != (byte)'}' || payload[^2] != (byte)'"')
        {
            return null;
        }

        var start = payload.LastIndexOf(member);
        if (start < 0)
        {
            return null;
        }

        var name = payload[(start + member.Length)..^2];
        return name.IndexOf((byte)'"') >= 0 ? null : Encoding.UTF8.GetString(name);
    }

    // "HM1": a commit marker, never the first bytes of an event payload (a JSON object).
    private static ReadOnlySpan<byte> MarkerMagic => "HM1"u8;

    /// <summary>
    /// A commit marker (<c>Herald:Redis:Subscribe=interest</c>) for a run of consecutive durable ids: <c>HM1</c>, the
    /// first id and the count as 7-bit varints, then each id's topic as a varint UTF-8 length and the bytes — length 0
    /// meaning "the same topic as the id before". No data: a node that does not want a topic reads one name per id.
    /// </summary>
    public static byte[] EncodeMarker(long firstId, IReadOnlyList<HubEvent> run)
    {
        using var buffer = new MemoryStream(16 + run.Count * 8);
        using var writer = new BinaryWriter(buffer);
        writer.Write(MarkerMagic);
        writer.Write7BitEncodedInt64(firstId);
        writer.Write7BitEncodedInt(run.Count);
        string? previous = null;
        foreach (var item in run)
        {
            if (string.Equals(item.Topic, previous, StringComparison.Ordinal))
            {
                writer.Write7BitEncodedInt(0);
                continue;
            }

            var bytes = Encoding.UTF8.GetBytes(item.Topic);
            writer.Write7BitEncodedInt(bytes.Length);
            writer.Write(bytes);
            previous = item.Topic;
        }

        writer.Flush();
        return buffer.ToArray();
    }

    /// <summary>
    /// Several commit markers in one payload (<c>Herald:Redis:MarkerInterval</c> gathers a node's batches): one
    /// <see cref="EncodeMarker"/> per run of consecutive ids in <paramref name="committed"/> (ascending), back to back.
    /// </summary>
    public static byte[] EncodeMarkers(List<HubEvent> committed)
    {
        using var buffer = new MemoryStream(16 + committed.Count * 8);
        var start = 0;
        for (var i = 1; i <= committed.Count; i++)
        {
            if (i < committed.Count && committed[i].Id == committed[i - 1].Id + 1)
            {
                continue;
            }

            buffer.Write(EncodeMarker(committed[start].Id, committed.GetRange(start, i - start)));
            start = i;
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes <see cref="EncodeMarkers"/> (one marker or several back to back); false if any part is not a marker.</summary>
    public static bool TryDecodeMarkers(ReadOnlyMemory<byte> payload, out List<(long FirstId, List<string> Topics)>? runs)
    {
        runs = null;
        var list = new List<(long, List<string>)>(1);
        while (!payload.IsEmpty)
        {
            if (!TryDecodeMarker(payload, out var firstId, out var topics, out var length))
            {
                return false;
            }

            list.Add((firstId, topics!));
            payload = payload[length..];
        }

        runs = list;
        return list.Count > 0;
    }

    /// <summary>Decodes <see cref="EncodeMarker"/>; false for anything else.</summary>
    public static bool TryDecodeMarker(ReadOnlyMemory<byte> payload, out long firstId, out List<string>? topics) =>
        TryDecodeMarker(payload, out firstId, out topics, out _);

    // Decodes the marker at the start of payload; length is how many bytes it took.
    private static bool TryDecodeMarker(ReadOnlyMemory<byte> payload, out long firstId, out List<string>? topics, out int length)
    {
        firstId = 0;
        topics = null;
        length = 0;
        if (!payload.Span.StartsWith(MarkerMagic))
        {
            return false;
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload[MarkerMagic.Length..].ToArray(), writable: false));
            firstId = reader.Read7BitEncodedInt64();
            var count = reader.Read7BitEncodedInt();
            if (firstId < 1 || count < 1 || count > payload.Length)
            {
                return false;
            }

            var list = new List<string>(count);
            string? previous = null;
            for (var i = 0; i < count; i++)
            {
                var size = reader.Read7BitEncodedInt();
                if (size == 0)
                {
                    if (previous is null)
                    {
                        return false;
                    }

                    list.Add(previous);
                    continue;
                }

                var bytes = reader.ReadBytes(size);
                previous = Encoding.UTF8.GetString(bytes);
                if (bytes.Length != size || !ProtocolNames.IsValidTopic(previous))
                {
                    return false;
                }

                list.Add(previous);
            }

            topics = list;
            length = MarkerMagic.Length + (int)reader.BaseStream.Position;
            return true;
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or ArgumentException)
        {
            return false;
        }
    }

    // W3C Trace Context, version 00: "00-" 32 hex trace id "-" 16 hex parent id "-" 2 hex flags.
    private static void WriteTraceParent(ArrayBufferWriter<byte> writer, ActivityContext context)
    {
        Write(writer, ",\"herald_trace\":\"00-"u8);
        Write(writer, Encoding.ASCII.GetBytes(context.TraceId.ToHexString()));
        Write(writer, "-"u8);
        Write(writer, Encoding.ASCII.GetBytes(context.SpanId.ToHexString()));
        Write(writer, (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "-01\""u8 : "-00\""u8);
    }

    private static void Write(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }

    private static void WriteNumber(ArrayBufferWriter<byte> writer, long value)
    {
        Utf8Formatter.TryFormat(value, writer.GetSpan(20), out var n);
        writer.Advance(n);
    }
}
