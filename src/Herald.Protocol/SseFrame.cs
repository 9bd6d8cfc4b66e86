using System.Buffers;
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

        var writer = new ArrayBufferWriter<byte>(data.Length + eventName.Length + 48);
        if (id > 0)
        {
            Write(writer, "id: "u8);
            var span = writer.GetSpan(20);
            Utf8Formatter.TryFormat(id, span, out var written);
            writer.Advance(written);
            Write(writer, "\n"u8);
        }

        if (alwaysWriteEventName || eventName != "message")
        {
            Write(writer, "event: "u8);
            var nameSpan = writer.GetSpan(eventName.Length);
            var n = Encoding.ASCII.GetBytes(eventName, nameSpan);
            writer.Advance(n);
            Write(writer, "\n"u8);
        }

        WriteData(writer, data);
        Write(writer, "\n"u8);
        return writer.WrittenSpan.ToArray();
    }

    // "If the line is empty ... dispatch the event"; any CR, LF or CRLF ends a line. So each line of the
    // payload becomes its own data field; the parser joins them back with LF.
    private static void WriteData(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        while (true)
        {
            var lineEnd = data.IndexOfAny((byte)'\r', (byte)'\n');
            var line = lineEnd < 0 ? data : data[..lineEnd];
            Write(writer, "data: "u8);
            Write(writer, line);
            Write(writer, "\n"u8);
            if (lineEnd < 0)
            {
                return;
            }

            var skip = data[lineEnd] == '\r' && lineEnd + 1 < data.Length && data[lineEnd + 1] == '\n' ? 2 : 1;
            data = data[(lineEnd + skip)..];
        }
    }

    private static void Write(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }
}
