namespace Herald.Bridge;

/// <summary>
/// The upstream response body as the SSE reader reads it, with an idle timeout per read (<c>sseTimeout</c>). The
/// line and event size cap (<c>maxEventBytes</c>) is the reader's own (<see cref="UpstreamEventReader"/>).
/// </summary>
/// <remarks>
/// Only reads are timed: while the bridge waits for a slow WebSocket client it is not reading, and that wait is
/// the send timeout's business.
/// </remarks>
internal sealed class UpstreamReadStream(Stream inner, TimeSpan idleTimeout) : Stream
{
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

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        return inner.Read(buffer, offset, count);
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
}
