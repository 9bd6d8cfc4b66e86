using System.Buffers.Text;

namespace Herald.Bench.Load;

/// <summary>Where a connection is in its life.</summary>
internal enum ConnectionState
{
    Queued,
    Connecting,
    AwaitingHeaders,
    Streaming,
    Done,
}

/// <summary>
/// One SSE connection of the load generator: HTTP/1.1 response headers, chunked transfer decoding and just
/// enough of the SSE grammar to find each event's <c>id</c> and the <c>bench:topic:seq:ticks</c> marker the
/// publisher put in its data.
/// </summary>
/// <remarks>
/// Bytes arrive in a buffer shared by all connections of the worker; only a line (or header block) cut by a
/// read boundary is copied into the connection's own small carry buffer, so an idle connection holds a few
/// hundred bytes and parsing a delivery allocates nothing.
/// </remarks>
internal sealed class SseConnection(int index, int topic, byte[] request)
{
    private const int MaxCarry = 64 * 1024;

    private byte[]? _carry;
    private int _carryLength;
    private ChunkState _chunk = ChunkState.Size;
    private long _chunkRemaining;
    private bool _chunked = true;
    private ulong[]? _seen;

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

    public int Index { get; } = index;

    public int Topic { get; } = topic;

    public byte[] Request { get; } = request;

    public int Fd { get; set; } = -1;

    public ConnectionState State { get; set; }

    public long StartedTicks { get; set; }

    public long LastByteTicks { get; set; }

    public long LastId { get; private set; }

    public bool WasEstablished { get; set; }

    /// <summary>
    /// Feeds response bytes. Returns false when the response cannot be a working stream (non-200 status, the
    /// chunked body ended, a line too long); <paramref name="failure"/> then says why.
    /// </summary>
    public bool OnBytes(ReadOnlySpan<byte> data, long now, ISseSink sink, out string? failure)
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
        failure = null;
        var previous = _carryLength;
        if (!AppendCarry(data))
        {
            failure = "headers-too-long";
            return -1;
        }

        var all = _carry.AsSpan(0, _carryLength);
        var end = all.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return -1;
        }

        var head = all[..end];
        // "HTTP/1.1 200 OK"
        if (head.Length < 12 || !Utf8Parser.TryParse(head[9..12], out int status, out _) || status != 200)
        {
            failure = head.Length >= 12 ? "http-" + System.Text.Encoding.ASCII.GetString(head[9..12]) : "http-malformed";
            return -1;
        }

        _chunked = ContainsIgnoreCase(head, "transfer-encoding: chunked"u8);
        _chunk = _chunked ? ChunkState.Size : ChunkState.Raw;
        _carryLength = 0;
        return end + 4 - previous;
    }

    private bool Dechunk(ReadOnlySpan<byte> data, long now, ISseSink sink, out string? failure)
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

    private bool OnSse(ReadOnlySpan<byte> data, long now, ISseSink sink, out string? failure)
    {
        failure = null;
        if (_carryLength > 0)
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

            OnLine(_carry.AsSpan(0, _carryLength), now, sink);
            _carryLength = 0;
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

    private void OnLine(ReadOnlySpan<byte> line, long now, ISseSink sink)
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
                if (!Utf8Parser.TryParse(line[3..].TrimStart((byte)' '), out _eventId, out _))
                {
                    _eventId = 0;
                }

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

    /// <summary>Marks <paramref name="seq"/> as received; false when it already was (a duplicate).</summary>
    public bool MarkSeen(long seq)
    {
        var word = (int)(seq >> 6);
        if (_seen is null || word >= _seen.Length)
        {
            Array.Resize(ref _seen, Math.Max(word + 1, (_seen?.Length ?? 0) * 2));
        }

        var bit = 1UL << (int)(seq & 63);
        if ((_seen[word] & bit) != 0)
        {
            return false;
        }

        _seen[word] |= bit;
        return true;
    }

    // "<topic>:<seq>:<ticks>"
    private static bool TryParseMarker(ReadOnlySpan<byte> s, out int topic, out long seq, out long ticks)
    {
        seq = 0;
        ticks = 0;
        if (!Utf8Parser.TryParse(s, out topic, out var n) || n >= s.Length || s[n] != ':')
        {
            return false;
        }

        s = s[(n + 1)..];
        if (!Utf8Parser.TryParse(s, out seq, out n) || n >= s.Length || s[n] != ':')
        {
            return false;
        }

        return Utf8Parser.TryParse(s[(n + 1)..], out ticks, out _);
    }

    private bool AppendCarry(ReadOnlySpan<byte> data)
    {
        var needed = _carryLength + data.Length;
        if (needed > MaxCarry)
        {
            return false;
        }

        if (_carry is null || _carry.Length < needed)
        {
            Array.Resize(ref _carry, Math.Max(256, Math.Max(needed, (_carry?.Length ?? 0) * 2)));
        }

        data.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength = needed;
        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static bool ContainsIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle)
    {
        for (var i = 0; i + lowerNeedle.Length <= haystack.Length; i++)
        {
            var match = true;
            for (var j = 0; j < lowerNeedle.Length; j++)
            {
                var c = haystack[i + j];
                if (c is >= (byte)'A' and <= (byte)'Z')
                {
                    c = (byte)(c | 0x20);
                }

                if (c != lowerNeedle[j])
                {
                    match = false;
                    break;
                }
            }

            if (match)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Receives what connections parse (the worker's counters and histogram).</summary>
internal interface ISseSink
{
    void OnDelivery(SseConnection connection, int topic, long seq, long sentTicks, long receivedTicks);

    void OnComment();

    void OnOutOfOrder();
}
