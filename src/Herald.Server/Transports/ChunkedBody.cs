using System.Buffers;
using System.IO.Pipelines;

namespace Herald.Server.Transports;

/// <summary>
/// HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), for a body written past Kestrel after a
/// <see cref="ConnectionHandoff"/>: Kestrel began the body as chunked, so every later write is a chunk and the
/// body ends with the last chunk.
/// </summary>
internal static class ChunkedBody
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private static ReadOnlySpan<byte> LastChunk => "0\r\n\r\n"u8;

    /// <summary>The chunk-size line for <paramref name="length"/> bytes of data (which must be more than 0).</summary>
    public static void WriteHeader(PipeWriter writer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        var span = writer.GetSpan(10);
        length.TryFormat(span, out var written, "x", System.Globalization.CultureInfo.InvariantCulture);
        Crlf.CopyTo(span[written..]);
        writer.Advance(written + 2);
    }

    /// <summary>The CRLF that closes a chunk's data.</summary>
    public static void WriteTrailer(PipeWriter writer) => writer.Write(Crlf);

    /// <summary>One whole chunk.</summary>
    public static void WriteChunk(PipeWriter writer, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return; // an empty chunk would be the last one
        }

        WriteHeader(writer, data.Length);
        writer.Write(data);
        WriteTrailer(writer);
    }

    /// <summary>The last chunk: the body ends here.</summary>
    public static void WriteEnd(PipeWriter writer) => writer.Write(LastChunk);
}
