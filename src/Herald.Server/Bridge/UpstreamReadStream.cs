namespace Herald.Server.Bridge;

/// <summary>
/// The upstream response body as the SSE parser reads it, with two guards the parser does not have:
/// an idle timeout per read (<c>sseTimeout</c>) and a cap on line and event size (<c>maxEventBytes</c>;
/// <see cref="System.Net.ServerSentEvents.SseParser"/> alone would buffer up to 64 MB of one line).
/// </summary>
/// <remarks>
/// The size guard tracks line ends the way the parser does (CR, LF, or CRLF; a blank line ends an event) so
/// the counts agree with what the parser buffers. Only reads are timed: while the bridge waits for a slow
/// WebSocket client it is not reading, and that wait is the send timeout's business.
/// </remarks>
internal sealed class UpstreamReadStream(Stream inner, TimeSpan idleTimeout, int maxEventBytes) : Stream
{
    private int _lineBytes;
    private int _eventBytes;
    private bool _afterCr;

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        if (idleTimeout == Timeout.InfiniteTimeSpan)
        {
            read = await inner.ReadAsync(buffer, cancellationToken);
        }
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(idleTimeout);
            try
            {
                read = await inner.ReadAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new UpstreamIdleException((int)idleTimeout.TotalMilliseconds);
            }
        }

        Account(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Account(buffer.AsSpan(offset, read));
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Account(ReadOnlySpan<byte> bytes)
    {
        BytesRead += bytes.Length;
        while (!bytes.IsEmpty)
        {
            var end = bytes.IndexOfAny((byte)'\r', (byte)'\n');
            var content = end < 0 ? bytes.Length : end;
            if (content > 0)
            {
                _afterCr = false;
                _lineBytes += content;
                _eventBytes += content;
                if (_lineBytes > maxEventBytes || _eventBytes > maxEventBytes)
                {
                    throw new BridgeUpstreamException(
                        $"The SSE server sent a line or event larger than {maxEventBytes} bytes (proxy.limits.maxEventBytes).");
                }
            }

            if (end < 0)
            {
                return;
            }

            var lineEnd = bytes[end];
            if (lineEnd == (byte)'\n' && _afterCr && content == 0)
            {
                // The LF of a CRLF whose CR ended the previous read or the previous line: one line end, not two.
                _afterCr = false;
            }
            else
            {
                if (_lineBytes == 0)
                {
                    _eventBytes = 0;
                }

                _lineBytes = 0;
                _afterCr = lineEnd == (byte)'\r';
            }

            bytes = bytes[(end + 1)..];
        }
    }
}
