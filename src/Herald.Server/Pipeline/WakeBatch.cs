using System.Collections.Concurrent;

namespace Herald.Server.Pipeline;

/// <summary>
/// Writers to wake, run one after another on one thread-pool thread: a broadcast to thousands of subscribers
/// becomes thousands / <see cref="Capacity"/> work items instead of one per subscriber.
/// </summary>
/// <remarks>
/// Each writer runs up to its next wait — usually drain, write, a flush that completes at once, and back to
/// waiting — so a batch costs its subscribers' writes and nothing else. One that has to wait for the socket
/// returns to the batch at once. Batches are pooled: the broadcast path allocates nothing.
/// </remarks>
internal sealed class WakeBatch : IThreadPoolWorkItem
{
    /// <summary>Writers per work item: large enough to amortise the hand-off, small enough that both cores share a broadcast.</summary>
    public const int Capacity = 64;

    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<WakeBatch> Pool = new();

    private readonly Subscriber[] _subscribers = new Subscriber[Capacity];
    private int _count;

    /// <summary>Adds <paramref name="subscriber"/> to <paramref name="batch"/> (renting one if null); a full batch is dispatched and cleared.</summary>
    public static void Add(ref WakeBatch? batch, Subscriber subscriber)
    {
        batch ??= Pool.TryDequeue(out var pooled) ? pooled : new WakeBatch();
        batch._subscribers[batch._count++] = subscriber;
        if (batch._count == Capacity)
        {
            batch.Dispatch();
            batch = null;
        }
    }

    /// <summary>Hands the batch to the thread pool; it returns itself to the pool when done.</summary>
    public void Dispatch() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute()
    {
        var count = _count;
        for (var i = 0; i < count; i++)
        {
            var subscriber = _subscribers[i];
            _subscribers[i] = null!;
            subscriber.Signal();
        }

        _count = 0;
        if (Pool.Count < MaxPooled)
        {
            Pool.Enqueue(this);
        }
    }
}
