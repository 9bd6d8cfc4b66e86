using System.Buffers.Text;

namespace Herald.Bench.Load;

/// <summary>
/// One SSE connection of the load generator: HTTP/1.1 response headers, chunked transfer decoding and just
/// enough of the SSE grammar to find each event's <c>id</c> and the <c>bench:topic:seq:ticks</c> marker the
/// publisher put in its data.
/// </summary>
/// <remarks>
/// Event ids may be Herald's (a number), its Mercure hub's (<c>#</c> and Herald's number) or Nchan's
/// (<c>&lt;seconds&gt;:&lt;n&gt;</c>); each is checked for order. Deliveries are recognised by the marker in the data,
/// never by the id.
/// </remarks>
internal sealed class SseConnection(int index, int topic, byte[] request) : LoadConnection(index, topic, request)
{
    private ChunkState _chunk = ChunkState.Size;
    private long _chunkRemaining;
    private bool _chunked = true;

    // The event being parsed.
    private long _eventId;
    private bool _hasMarker;
    private int _markerTopic;
    private long _markerSeq;
    private long _markerTicks;

    private enum ChunkState
    {
        Size,
        Data,
        DataEnd,
        Raw,
        Ended,
    }

    public override bool OnBytes(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        LastByteTicks = now;
        if (State == ConnectionState.AwaitingHeaders)
        {
            var consumed = ReadHeaders(data, out failure);
            if (failure is not null)
            {
                return false;
            }

            if (consumed < 0)
            {
                return true; // header block not complete yet
            }

            State = ConnectionState.Streaming;
            data = data[consumed..];
        }

        return Dechunk(data, now, sink, out failure);
    }

    // Returns how many bytes of data belonged to the header block, or -1 while it is incomplete.
    private int ReadHeaders(ReadOnlySpan<byte> data, out string? failure)
    {
        var consumed = ReadHead(data, 200, out var head, out failure);
        if (consumed < 0)
        {
            return -1;
        }

        _chunked = ContainsIgnoreCase(Carried[head], "transfer-encoding: chunked"u8);
        _chunk = _chunked ? ChunkState.Size : ChunkState.Raw;
        CarryLength = 0;
        return consumed;
    }

    private bool Dechunk(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        while (!data.IsEmpty)
        {
            switch (_chunk)
            {
                case ChunkState.Raw:
                    if (!OnSse(data, now, sink, out failure))
                    {
                        return false;
                    }

                    return true;
                case ChunkState.Size:
                    {
                        var b = data[0];
                        data = data[1..];
                        if (b == '\n')
                        {
                            if (_chunkRemaining == 0)
                            {
                                _chunk = ChunkState.Ended;
                                failure = "stream-ended";
                                return false;
                            }

                            _chunk = ChunkState.Data;
                        }
                        else if (HexValue(b) is var v and >= 0)
                        {
                            _chunkRemaining = (_chunkRemaining << 4) | (uint)v;
                        }

                        // '\r' and chunk extensions are skipped.
                        break;
                    }

                case ChunkState.Data:
                    {
                        var n = (int)Math.Min(_chunkRemaining, data.Length);
                        if (!OnSse(data[..n], now, sink, out failure))
                        {
                            return false;
                        }

                        data = data[n..];
                        _chunkRemaining -= n;
                        if (_chunkRemaining == 0)
                        {
                            _chunk = ChunkState.DataEnd;
                        }

                        break;
                    }

                case ChunkState.DataEnd:
                    {
                        var lf = data.IndexOf((byte)'\n');
                        if (lf < 0)
                        {
                            return true;
                        }

                        data = data[(lf + 1)..];
                        _chunk = ChunkState.Size;
                        break;
                    }

                default:
                    failure = "stream-ended";
                    return false;
            }
        }

        return true;
    }

    private bool OnSse(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure)
    {
        failure = null;
        if (CarryLength > 0)
        {
            var lf = data.IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (!AppendCarry(data))
                {
                    failure = "line-too-long";
                    return false;
                }

                return true;
            }

            if (!AppendCarry(data[..lf]))
            {
                failure = "line-too-long";
                return false;
            }

            OnLine(Carried, now, sink);
            CarryLength = 0;
            data = data[(lf + 1)..];
        }

        while (true)
        {
            var lf = data.IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (!data.IsEmpty && !AppendCarry(data))
                {
                    failure = "line-too-long";
                    return false;
                }

                return true;
            }

            OnLine(data[..lf], now, sink);
            data = data[(lf + 1)..];
        }
    }

    private void OnLine(ReadOnlySpan<byte> line, long now, IDeliverySink sink)
    {
        if (!line.IsEmpty && line[^1] == '\r')
        {
            line = line[..^1];
        }

        if (line.IsEmpty)
        {
            // Blank line: dispatch the event.
            if (_hasMarker)
            {
                sink.OnDelivery(this, _markerTopic, _markerSeq, _markerTicks, now);
            }

            if (_eventId != 0)
            {
                if (_eventId <= LastId)
                {
                    sink.OnOutOfOrder();
                }
                else
                {
                    LastId = _eventId;
                }
            }

            _hasMarker = false;
            _eventId = 0;
            return;
        }

        switch (line[0])
        {
            case (byte)':':
                sink.OnComment();
                return;
            case (byte)'i' when line.StartsWith("id:"u8):
                _eventId = ParseId(line[3..].TrimStart((byte)' '));
                return;
            case (byte)'d' when line.StartsWith("data:"u8):
                var marker = line.IndexOf("bench:"u8);
                if (marker >= 0 && TryParseMarker(line[(marker + 6)..], out _markerTopic, out _markerSeq, out _markerTicks))
                {
                    _hasMarker = true;
                }

                return;
            default:
                return;
        }
    }

    // Herald: "42". Herald's Mercure hub: "#42" for an update published without an id (the bench sends none), Herald's
    // event number behind a '#': one sequence for every Mercure topic, so a stream's ids rise whatever its topics
    // (the publish order by sequence number in the payload would not do: publishes are concurrent, so seq 5 may
    // commit before seq 4). Nchan: "1700000000:3" (seconds, then a counter within the second), ordered as that pair;
    // a multi-channel id ("1700000000:[3,4]") is not checked. 0 = no order check.
    private static long ParseId(ReadOnlySpan<byte> id)
    {
        if (!id.IsEmpty && id[0] == '#')
        {
            return Utf8Parser.TryParse(id[1..], out long heraldId, out var length) && length == id.Length - 1 ? heraldId : 0;
        }

        if (!Utf8Parser.TryParse(id, out long value, out var n))
        {
            return 0;
        }

        if (n == id.Length)
        {
            return value;
        }

        return id[n] == ':' && Utf8Parser.TryParse(id[(n + 1)..], out long counter, out var m) && n + 1 + m == id.Length && counter < 1_000_000
            ? (value * 1_000_000) + counter
            : 0;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
