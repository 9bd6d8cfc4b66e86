using System.Buffers.Text;
using System.Text;

namespace Herald.Protocol;

/// <summary>
/// Encodes Server-Sent Events frames (WHATWG HTML, "9.2 Server-sent events") into UTF-8 bytes.
/// </summary>
/// <remarks>
/// Every frame is built once per event and the same bytes are written to every connection.
/// Field values that cannot carry a line break (<c>id</c>, <c>event</c>) are validated by
/// <see cref="ProtocolNames"/> before they get here; <c>data</c> may contain line breaks and is split
/// into one <c>data:</c> line per line, so no value can start a new field or a new event.
/// </remarks>
public static class SseFrame
{
    /// <summary>The comment a server sends to keep idle connections (and the proxies between) alive.</summary>
    public static ReadOnlyMemory<byte> Heartbeat { get; } = ": heartbeat\n\n"u8.ToArray();

    /// <summary>Encodes <c>retry: N</c> followed by a blank line.</summary>
    public static byte[] Retry(int milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds);
        return Encoding.UTF8.GetBytes($"retry: {milliseconds}\n\n");
    }

    /// <summary>Encodes a comment line (<c>: text</c>); line breaks in <paramref name="text"/> become spaces.</summary>
    public static byte[] Comment(string text)
    {
        var clean = text.Replace('\r', ' ').Replace('\n', ' ').Replace('\0', ' ');
        return Encoding.UTF8.GetBytes($": {clean}\n\n");
    }

    /// <summary>
    /// Encodes one event: optional <c>id</c>, <c>event</c> (omitted when it is <c>message</c>, the default a
    /// browser assumes, unless <paramref name="alwaysWriteEventName"/>) and <c>data</c>.
    /// </summary>
    /// <param name="id">The event id, or 0 for an event without id (ephemeral events must not move a client's Last-Event-ID).</param>
    /// <param name="eventName">The SSE event name; must satisfy <see cref="ProtocolNames.IsValidEventName"/>.</param>
    /// <param name="data">UTF-8 payload; CR, LF and CRLF split it into several <c>data:</c> lines.</param>
    /// <param name="alwaysWriteEventName">Write <c>event: message</c> explicitly (seed 000 shows it).</param>
    public static byte[] Encode(long id, string eventName, ReadOnlySpan<byte> data, bool alwaysWriteEventName = true)
    {
        if (!ProtocolNames.IsValidEventName(eventName))
        {
            throw new ArgumentException("Event names are 1-64 characters of letters, digits, '_', '-', '.', ':'.", nameof(eventName));
        }

        // Measured first, then written into one array of exactly that size: a frame is encoded once per event and
        // kept for its whole life in the replay buffer and the queues, so neither a growing buffer nor a copy.
        var writeName = alwaysWriteEventName || eventName != "message";
        var idLength = id > 0 ? "id: "u8.Length + DigitCount(id) + 1 : 0;
        var nameLength = writeName ? "event: "u8.Length + eventName.Length + 1 : 0;
        var frame = new byte[idLength + nameLength + DataLength(data) + 1];
        var rest = frame.AsSpan();
        if (id > 0)
        {
            Append(ref rest, "id: "u8);
            Utf8Formatter.TryFormat(id, rest, out var written);
            rest = rest[written..];
            Append(ref rest, "\n"u8);
        }

        if (writeName)
        {
            Append(ref rest, "event: "u8);
            rest = rest[Encoding.ASCII.GetBytes(eventName, rest)..];
            Append(ref rest, "\n"u8);
        }

        WriteData(ref rest, data);
        Append(ref rest, "\n"u8);
        return frame;
    }

    private static int DigitCount(long value)
    {
        var digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }

    // "If the line is empty ... dispatch the event"; any CR, LF or CRLF ends a line. So each line of the
    // payload becomes its own data field; the parser joins them back with LF.
    private static int DataLength(ReadOnlySpan<byte> data)
    {
        var length = 0;
        while (true)
        {
            var lineEnd = data.IndexOfAny((byte)'\r', (byte)'\n');
            length += "data: "u8.Length + (lineEnd < 0 ? data.Length : lineEnd) + 1;
            if (lineEnd < 0)
            {
                return length;
            }

            data = data[(lineEnd + LineBreakLength(data, lineEnd))..];
        }
    }

    private static void WriteData(ref Span<byte> rest, ReadOnlySpan<byte> data)
    {
        while (true)
        {
            var lineEnd = data.IndexOfAny((byte)'\r', (byte)'\n');
            Append(ref rest, "data: "u8);
            Append(ref rest, lineEnd < 0 ? data : data[..lineEnd]);
            Append(ref rest, "\n"u8);
            if (lineEnd < 0)
            {
                return;
            }

            data = data[(lineEnd + LineBreakLength(data, lineEnd))..];
        }
    }

    private static int LineBreakLength(ReadOnlySpan<byte> data, int lineEnd) =>
        data[lineEnd] == '\r' && lineEnd + 1 < data.Length && data[lineEnd + 1] == '\n' ? 2 : 1;

    private static void Append(ref Span<byte> rest, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(rest);
        rest = rest[bytes.Length..];
    }
}
