using System.Buffers;
using System.IO.Pipelines;

namespace Herald.Server.Transports.Handoff;

/// <summary>
/// Kestrel's view of a connection's input under a <see cref="ConnectionHandoff"/>: the real one until the hand-off,
/// then a client that has closed — the completed read on which Kestrel lets the connection go.
/// </summary>
internal sealed class HandoffReader(ConnectionHandoff owner, PipeReader inner) : PipeReader
{
    private static readonly ReadResult Ended = new(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        owner.HandedOff ? ValueTask.FromResult(Ended) : inner.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result)
    {
        if (owner.HandedOff)
        {
            result = Ended;
            return true;
        }

        return inner.TryRead(out result);
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        if (!owner.HandedOff)
        {
            inner.AdvanceTo(consumed);
        }
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (!owner.HandedOff)
        {
            inner.AdvanceTo(consumed, examined);
        }
    }

    public override void CancelPendingRead()
    {
        if (!owner.HandedOff)
        {
            inner.CancelPendingRead();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        // After the hand-off the real input belongs to the continuation.
        if (!owner.HandedOff)
        {
            inner.Complete(exception);
        }
    }
}
