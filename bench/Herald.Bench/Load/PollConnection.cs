using System.Buffers.Text;
using System.Text;

namespace Herald.Bench.Load;

/// <summary>
/// One long-polling subscriber of Herald (<c>/api/poll</c>, <c>/api/dialogs/{id}/poll</c>), on one kept-alive
/// connection: a first request without <c>after_id</c> for the current position (after which it counts as
/// established), then <c>after_id=N&amp;timeout=25</c> again and again, each answer's <c>last_event_id</c> the next N.
/// </summary>
/// <remarks>
/// A response is gathered in the carry buffer until it is complete (Content-Length or the last chunk), its chunked
/// framing is removed in place, and its events are read for the <c>bench:</c> markers and ids. The next poll is sent
/// from a precomputed prefix and suffix around the number, so a poll allocates nothing.
/// </remarks>
internal sealed class PollConnection : LoadConnection
{
    private const int TimeoutSeconds = 25;
    private readonly byte[] _prefix;
    private readonly byte[] _suffix;

    public PollConnection(int index, int topic, string target, int port)
        : base(index, topic, Encoding.ASCII.GetBytes($"GET {target}&timeout={TimeoutSeconds} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"))
    {
        _prefix = Encoding.ASCII.GetBytes($"GET {target}&timeout={TimeoutSeconds}&after_id=");
        _suffix = Encoding.ASCII.GetBytes($" HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    }

    public override bool OnBytes(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        LastByteTicks = now;
        if (!AppendCarry(data))
        {
            failure = "response-too-long";
            return false;
        }

        var length = CompleteResponse(Carried, out var bodyStart, out var bodyLength, out failure);
        if (length <= 0)
        {
            return failure is null;
        }

        if (CarryLength != length)
        {
            failure = "unexpected-bytes-after-response";
            return false;
        }

        var body = Carried.Slice(bodyStart, bodyLength);
        var lastAt = body.LastIndexOf("\"last_event_id\":"u8);
        if (lastAt < 0 || !Utf8Parser.TryParse(body[(lastAt + 16)..], out long last, out _))
        {
            failure = "poll-no-position";
            return false;
        }

        if (State == ConnectionState.Streaming)
        {
            Events(body[..lastAt], now, sink);
        }

        CarryLength = 0;
        State = ConnectionState.Streaming;
        Span<byte> request = stackalloc byte[_prefix.Length + 20 + _suffix.Length];
        _prefix.CopyTo(request);
        Utf8Formatter.TryFormat(last, request[_prefix.Length..], out var digits);
        _suffix.CopyTo(request[(_prefix.Length + digits)..]);
        if (!SendAll(request[..(_prefix.Length + digits + _suffix.Length)]))
        {
            failure = "send-failed";
            return false;
        }

        return true;
    }

    // {"events":[{"id":N,"event":..,"topic":..,"data":{..}}, ...], — an event starts where {"id": is followed by a
    // number and ,"event": (the data may hold objects with ids of their own); its first bench: marker is its delivery.
    private void Events(ReadOnlySpan<byte> events, long now, IDeliverySink sink)
    {
        var start = NextEvent(events, out var id);
        while (start >= 0)
        {
            if (id <= LastId)
            {
                sink.OnOutOfOrder();
            }
            else
            {
                LastId = id;
            }

            events = events[start..];
            var next = NextEvent(events, out var nextId);
            var one = next < 0 ? events : events[..next];
            var marker = one.IndexOf("bench:"u8);
            if (marker >= 0 && TryParseMarker(one[(marker + 6)..], out var topic, out var seq, out var ticks))
            {
                sink.OnDelivery(this, topic, seq, ticks, now);
            }

            start = next;
            id = nextId;
        }
    }

    // Where the next event's fields start (after its id), or -1.
    private static int NextEvent(ReadOnlySpan<byte> events, out long id)
    {
        id = 0;
        var offset = 0;
        while (true)
        {
            var at = events[offset..].IndexOf("{\"id\":"u8);
            if (at < 0)
            {
                return -1;
            }

            offset += at + 6;
            if (Utf8Parser.TryParse(events[offset..], out id, out var n) && events[(offset + n)..].StartsWith(",\"event\":"u8))
            {
                return offset + n;
            }
        }
    }

    // The length of the complete response at the start of `all` (0 while incomplete, -1 on failure), and where its
    // body is once a chunked body has been joined in place.
    private static int CompleteResponse(Span<byte> all, out int bodyStart, out int bodyLength, out string? failure)
    {
        failure = null;
        bodyStart = 0;
        bodyLength = 0;
        var end = all.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return 0;
        }

        if (end < 12 || !Utf8Parser.TryParse(all[9..12], out int status, out _) || status != 200)
        {
            failure = end >= 12 ? "http-" + Encoding.ASCII.GetString(all[9..12]) : "http-malformed";
            return -1;
        }

        var head = all[..end];
        bodyStart = end + 4;
        var lengthAt = IndexOfIgnoreCase(head, "content-length:"u8);
        if (lengthAt >= 0)
        {
            if (!Utf8Parser.TryParse(head[(lengthAt + 15)..].TrimStart((byte)' '), out bodyLength, out _))
            {
                failure = "http-bad-length";
                return -1;
            }

            return all.Length - bodyStart >= bodyLength ? bodyStart + bodyLength : 0;
        }

        // Chunked: walk the chunks first; join their data only once the last one is in.
        var at = bodyStart;
        while (true)
        {
            var lf = all[at..].IndexOf((byte)'\n');
            if (lf < 0 || !Utf8Parser.TryParse(all[at..], out int size, out _, 'x'))
            {
                return 0;
            }

            var data = at + lf + 1;
            if (size == 0)
            {
                // The last chunk, then an empty line (no trailers).
                if (all.Length < data + 2)
                {
                    return 0;
                }

                break;
            }

            if (all.Length < data + size + 2)
            {
                return 0;
            }

            at = data + size + 2;
        }

        var total = at + (all[at..].IndexOf((byte)'\n') + 1) + 2;
        var write = bodyStart;
        at = bodyStart;
        while (true)
        {
            var lf = all[at..].IndexOf((byte)'\n');
            // Every size line parsed above.
            if (!Utf8Parser.TryParse(all[at..], out int size, out _, 'x') || size == 0)
            {
                break;
            }

            all.Slice(at + lf + 1, size).CopyTo(all[write..]);
            write += size;
            at += lf + 1 + size + 2;
        }

        bodyLength = write - bodyStart;
        return total;
    }
}
