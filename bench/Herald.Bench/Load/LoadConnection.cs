using System.Buffers.Text;

namespace Herald.Bench.Load;

/// <summary>
/// One subscriber connection of the load generator, whatever its wire protocol: the state the worker's event
/// loop drives, the per-topic bitmap of sequence numbers seen, and a small carry buffer for whatever a read
/// boundary cuts (a header block, an SSE line, a SignalR record).
/// </summary>
/// <remarks>
/// Bytes arrive in a buffer shared by all connections of the worker; only what a read boundary cuts is copied
/// into the connection's own carry buffer, so an idle connection holds a few hundred bytes and parsing a
/// delivery allocates nothing.
/// </remarks>
internal abstract class LoadConnection(int index, int topic, byte[] request)
{
    private const int MaxCarry = 64 * 1024;

    private byte[]? _carry;
    private ulong[]? _seen;

    public int Index { get; } = index;

    public int Topic { get; } = topic;

    /// <summary>The first bytes sent once the TCP connection is up.</summary>
    public byte[] Request { get; } = request;

    public int Fd { get; set; } = -1;

    public ConnectionState State { get; set; }

    public long StartedTicks { get; set; }

    public long LastByteTicks { get; set; }

    public long LastId { get; protected set; }

    public bool WasEstablished { get; set; }

    protected int CarryLength { get; set; }

    protected Span<byte> Carried => _carry.AsSpan(0, CarryLength);

    /// <summary>
    /// Feeds response bytes. Returns false when the connection cannot be a working stream (a refused
    /// request, the stream ended, a line too long); <paramref name="failure"/> then says why.
    /// </summary>
    public abstract bool OnBytes(ReadOnlySpan<byte> data, long now, IDeliverySink sink, out string? failure);

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

    protected bool AppendCarry(ReadOnlySpan<byte> data)
    {
        var needed = CarryLength + data.Length;
        if (needed > MaxCarry)
        {
            return false;
        }

        if (_carry is null || _carry.Length < needed)
        {
            Array.Resize(ref _carry, Math.Max(256, Math.Max(needed, (_carry?.Length ?? 0) * 2)));
        }

        data.CopyTo(_carry.AsSpan(CarryLength));
        CarryLength = needed;
        return true;
    }

    /// <summary>
    /// Accumulates an HTTP/1.1 response head. Returns how many bytes of <paramref name="data"/> belonged to it,
    /// or -1 while it is incomplete or when the status is not <paramref name="expectedStatus"/> (then
    /// <paramref name="failure"/> is set). The head stays in the carry buffer (<paramref name="head"/>) until
    /// the caller clears it.
    /// </summary>
    protected int ReadHead(ReadOnlySpan<byte> data, int expectedStatus, out Range head, out string? failure)
    {
        failure = null;
        head = default;
        var previous = CarryLength;
        if (!AppendCarry(data))
        {
            failure = "headers-too-long";
            return -1;
        }

        var all = Carried;
        var end = all.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return -1;
        }

        // "HTTP/1.1 200 OK"
        if (end < 12 || !Utf8Parser.TryParse(all[9..12], out int status, out _) || status != expectedStatus)
        {
            failure = end >= 12 ? "http-" + System.Text.Encoding.ASCII.GetString(all[9..12]) : "http-malformed";
            return -1;
        }

        head = ..end;
        return end + 4 - previous;
    }

    /// <summary>Sends a few bytes: handshakes and pings, always small enough for an empty socket buffer.</summary>
    protected unsafe bool SendAll(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* p = bytes)
        {
            return Native.Send(Fd, p, bytes.Length, Native.MsgNoSignal) == bytes.Length;
        }
    }

    // "<topic>:<seq>:<ticks>", what follows "bench:" in a published message.
    protected static bool TryParseMarker(ReadOnlySpan<byte> s, out int topic, out long seq, out long ticks)
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

    protected static bool ContainsIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle) =>
        IndexOfIgnoreCase(haystack, lowerNeedle) >= 0;

    protected static int IndexOfIgnoreCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle)
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
                return i;
            }
        }

        return -1;
    }
}
