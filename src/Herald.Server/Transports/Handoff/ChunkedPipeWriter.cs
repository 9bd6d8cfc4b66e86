using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;

namespace Herald.Server.Transports.Handoff;

/// <summary>
/// The rest of a handed-off response body, over the bare connection, in HTTP/1.1 chunked transfer coding (RFC 9112
/// §7.1): Kestrel began the body as chunked, so what is written between two flushes goes out as one chunk
/// (<c>chunk-size CRLF chunk-data CRLF</c>, the size in hex), a flush with nothing written sends no chunk (an empty
/// one would end the body), and completing the writer ends the body with the last chunk (<c>0 CRLF CRLF</c>). With
/// it a stream's live phase writes the same way in Kestrel and after a <see cref="ConnectionHandoff"/>.
/// </summary>
/// <remarks>
/// A chunk's size comes before its data, so the data is gathered in an array rented from the shared pool and written
/// to the connection's pipe, framed, at the flush, which returns the array: an idle stream holds none. (Reserving room
/// for the size line in the pipe itself, as Kestrel does, would need leading zeros or moving the data when the size is
/// shorter than the room; either changes the bytes or costs the same copy.) Completing does not complete the
/// connection's pipe: the connection is Kestrel's, which closes it once the hand-off's continuation returns.
/// </remarks>
internal sealed class ChunkedPipeWriter(PipeWriter connection) : PipeWriter
{
    // A chat event's frame is ~0.3 KB; one array of this size takes a batch of them without growing.
    private const int MinimumBufferSize = 4096;

    private byte[]? _buffer;
    private int _written;
    private bool _completed;

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private static ReadOnlySpan<byte> LastChunk => "0\r\n\r\n"u8;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > (_buffer?.Length ?? 0) - _written)
        {
            throw new InvalidOperationException("Advanced past the memory that was handed out.");
        }

        _written += bytes;
    }

    /// <summary>Sends what was written since the last flush as one chunk, then flushes the connection.</summary>
    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        WritePendingChunk();
        return connection.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => connection.CancelPendingFlush();

    /// <summary>
    /// Ends the body: what is pending as a chunk, then the last chunk, into the connection's pipe, unflushed
    /// (<see cref="CompleteAsync"/> flushes them). With an <paramref name="exception"/> the body is abandoned instead:
    /// without its last chunk, a client sees it cut short when the connection closes.
    /// </summary>
    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        if (exception is null)
        {
            WritePendingChunk();
            connection.Write(LastChunk);
        }

        Release();
    }

    /// <summary>Ends the body (see <see cref="Complete"/>) and flushes the connection.</summary>
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        var ends = !_completed && exception is null;
        Complete(exception);
        if (ends)
        {
            await connection.FlushAsync();
        }
    }

    private byte[] Reserve(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        }
        else if (needed > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            _buffer.AsSpan(0, _written).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer;
    }

    private void WritePendingChunk()
    {
        if (_written == 0)
        {
            Release();
            return;
        }

        // chunk-size: at most 8 hex digits for an int, then CRLF.
        var header = connection.GetSpan(10);
        _written.TryFormat(header, out var digits, "x", CultureInfo.InvariantCulture);
        Crlf.CopyTo(header[digits..]);
        connection.Advance(digits + 2);
        connection.Write(_buffer.AsSpan(0, _written));
        connection.Write(Crlf);
        _written = 0;
        Release();
    }

    private void Release()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
