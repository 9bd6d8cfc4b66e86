namespace Herald.Protocol.Sse;

/// <summary>
/// A read-only view of an event stream's body whose reads fail when no byte arrives within the idle timeout.
/// </summary>
/// <remarks>
/// A connection that dies without a FIN or RST (a NAT entry dropped, a laptop suspended) never ends a read on its
/// own. An SSE server writes heartbeat comments to idle streams and <see cref="SseEventReader"/> swallows comments,
/// so the only place to notice their absence is the byte stream below the parser. Only reads are timed: time spent
/// between reads (a consumer busy with the last event) is not the stream's business. Used by Herald.Client on
/// Herald's streams and by the bridge on upstream streams (<c>sseTimeout</c>).
/// </remarks>
public sealed class IdleTimeoutReadStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeSpan _idleTimeout;
    private readonly Func<TimeSpan, Exception> _idleError;

    /// <summary>Wraps <paramref name="inner"/> (and disposes it with this stream).</summary>
    /// <param name="inner">The response body.</param>
    /// <param name="idleTimeout">How long one read may wait for a byte; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="idleError">The exception a read throws when the timeout passes (given the timeout); by default a <see cref="TimeoutException"/>.</param>
    public IdleTimeoutReadStream(Stream inner, TimeSpan idleTimeout, Func<TimeSpan, Exception>? idleError = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (idleTimeout <= TimeSpan.Zero && idleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout, "The idle timeout must be positive or infinite.");
        }

        _inner = inner;
        _idleTimeout = idleTimeout;
        _idleError = idleError ?? (t => new TimeoutException($"No data (not even a heartbeat) for {t.TotalSeconds:0.#} s; the connection is considered dead."));
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_idleTimeout == Timeout.InfiniteTimeSpan)
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_idleTimeout);
        try
        {
            return await _inner.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw _idleError(_idleTimeout);
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Not supported: a synchronous read could not be timed out without blocking a thread.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
