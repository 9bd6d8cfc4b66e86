using System.IO.Pipelines;

namespace Herald.Server.Transports.Handoff;

/// <summary>
/// Kestrel's view of a connection's output under a <see cref="ConnectionHandoff"/>: the real one until the hand-off,
/// then a sink for what Kestrel still writes — the last chunk of the response body, which the continuation writes
/// itself when the stream ends.
/// </summary>
internal sealed class HandoffWriter(ConnectionHandoff owner, PipeWriter inner) : PipeWriter
{
    // What Kestrel writes after the hand-off (a few bytes: the last chunk) lands here and is never read; writers
    // on many connections may share it because nobody reads it.
    private static readonly byte[] Sink = new byte[4096];

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => owner.HandedOff ? 0 : inner.UnflushedBytes;

    public override void Advance(int bytes)
    {
        if (!owner.HandedOff)
        {
            inner.Advance(bytes);
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) =>
        !owner.HandedOff ? inner.GetMemory(sizeHint) : sizeHint <= Sink.Length ? Sink : new byte[sizeHint];

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        owner.HandedOff ? ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false)) : inner.FlushAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        owner.HandedOff ? ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false)) : inner.WriteAsync(source, cancellationToken);

    public override void CancelPendingFlush()
    {
        if (!owner.HandedOff)
        {
            inner.CancelPendingFlush();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (!owner.HandedOff)
        {
            inner.Complete(exception);
        }
    }
}
