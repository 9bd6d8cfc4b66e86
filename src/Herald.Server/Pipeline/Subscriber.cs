using System.Threading.Tasks.Sources;
using Herald.Protocol;
using Herald.Server.Events;

namespace Herald.Server.Pipeline;

/// <summary>
/// One live connection's side of the hub: a bounded queue of events waiting to be written, and the
/// signal its writer loop awaits.
/// </summary>
/// <remarks>
/// <para>The publisher only ever enqueues a reference and maybe wakes the writer; it never writes to a
/// socket and never waits, so one slow client cannot slow anybody else. When the queue exceeds its count
/// or byte limit the subscriber is closed with <see cref="Disconnect.SlowConsumer"/>; the client
/// reconnects and resumes from its Last-Event-ID.</para>
/// <para>The wake-up is a reusable <see cref="ManualResetValueTaskSourceCore{TResult}"/>: no allocation per
/// event. Its continuation (the writer) runs on the thread pool, never inline on the publisher's thread: either
/// this subscriber is queued as its own work item, or, for a topic with many subscribers, a
/// <see cref="WakeBatch"/> runs the writers of up to <see cref="WakeBatch.Capacity"/> subscribers one after
/// another on one pool thread — one work item per batch instead of one per delivery.</para>
/// </remarks>
public sealed class Subscriber : IValueTaskSource<bool>, IThreadPoolWorkItem
{
    private const int InitialCapacity = 8;

    private readonly Lock _gate = new();
    private readonly int _maxCount;
    private readonly int _maxBytes;
    private HubEvent[]? _ring;
    private int _head;
    private int _count;
    private int _bytes;
    private bool _waiting;
    private Disconnect? _closeReason;
    private string? _closeDetail;
    // Continuations run on whichever thread signals; Wake and WakeBatch make sure that is a pool thread.
    private ManualResetValueTaskSourceCore<bool> _signal;

    public Subscriber(string transport, IReadOnlyList<string> topics, int maxCount, int maxBytes)
    {
        Transport = transport;
        Topics = topics;
        _maxCount = maxCount;
        _maxBytes = maxBytes;
        LastWriteTicks = Environment.TickCount64;
    }

    public string Transport { get; }

    /// <summary>The client address, for the per-IP connection limit.</summary>
    public string ClientKey { get; init; } = "";

    public IReadOnlyList<string> Topics { get; }

    /// <summary>Environment.TickCount64 of the last completed write; the heartbeat loop reads it.</summary>
    public long LastWriteTicks { get; set; }

    /// <summary>Environment.TickCount64 when the current write began, or 0 when none is in progress.</summary>
    public long WriteStartedTicks { get; set; }

    /// <summary>The <c>Hub.ConnectionTracker</c> bucket this connection lives in.</summary>
    internal int TrackerBucket { get; set; }

    /// <summary>What this subscriber takes of its topics' events and how it frames them; null for everything, as Herald frames it.</summary>
    public EventView? View { get; init; }

    /// <summary>Aborts the underlying connection (used when a write hangs past its deadline).</summary>
    public Action? Abort { get; set; }

    /// <summary>Why the subscriber was closed, or null while it is open.</summary>
    public Disconnect? CloseReason
    {
        get
        {
            lock (_gate)
            {
                return _closeReason;
            }
        }
    }

    /// <summary>What the close reason does not say by itself (e.g. <c>revoked</c> for <see cref="Disconnect.AuthRevoked"/>), or null.</summary>
    public string? CloseDetail
    {
        get
        {
            lock (_gate)
            {
                return _closeDetail;
            }
        }
    }

    /// <summary>Queues an event. Returns false when the subscriber is closed (possibly by this very call, on overflow).</summary>
    public bool TryEnqueue(HubEvent item)
    {
        var accepted = Enqueue(item, out var wake);
        if (wake)
        {
            Wake();
        }

        return accepted;
    }

    /// <summary>
    /// Queues an event; a writer that needs waking is added to <paramref name="wakes"/> (started, or dispatched
    /// and replaced when full) instead of being queued on its own. The caller dispatches what is left.
    /// </summary>
    internal bool TryEnqueue(HubEvent item, ref WakeBatch? wakes)
    {
        var accepted = Enqueue(item, out var wake);
        if (wake)
        {
            WakeBatch.Add(ref wakes, this);
        }

        return accepted;
    }

    // Queues (or, on overflow, closes); says whether the writer waits for a wake-up, which the caller arranges.
    private bool Enqueue(HubEvent item, out bool wake)
    {
        if (View is { } view && !view.Accepts(item))
        {
            // Not for this subscriber: nothing queued, nothing to wake, and the subscriber stays open.
            wake = false;
            return true;
        }

        bool accepted;
        lock (_gate)
        {
            if (_closeReason is not null)
            {
                wake = false;
                return false;
            }

            if (_count >= _maxCount || (_bytes + item.Size > _maxBytes && _count > 0))
            {
                // Overflow: what is queued will never be written, so free it now.
                _closeReason = Disconnect.SlowConsumer;
                ClearQueue();
                accepted = false;
            }
            else
            {
                Push(item);
                accepted = true;
            }

            wake = _waiting;
            _waiting = false;
        }

        if (!accepted)
        {
            // The writer may be stuck in a flush to a peer that stopped reading; only an abort frees it.
            Abort?.Invoke();
        }

        return accepted;
    }

    /// <summary>Completes when events are queued (true) or the subscriber is closed and drained (false).</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_closeReason is not null)
            {
                return new ValueTask<bool>(false);
            }

            _signal.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    /// <summary>Moves queued events into <paramref name="destination"/>; returns how many.</summary>
    public int Drain(Span<HubEvent?> destination)
    {
        lock (_gate)
        {
            var n = Math.Min(_count, destination.Length);
            for (var i = 0; i < n; i++)
            {
                var item = _ring![_head];
                _ring[_head] = null!;
                _head = (_head + 1) % _ring.Length;
                _bytes -= item.Size;
                destination[i] = item;
            }

            _count -= n;
            if (_count == 0)
            {
                _head = 0;
                // An idle connection should hold no buffer bigger than the initial one. The ring is null when
                // Close emptied it: the writer wakes once more after Close and drains nothing.
                if (_ring is { Length: > InitialCapacity })
                {
                    _ring = null;
                }
            }

            return n;
        }
    }

    /// <summary>
    /// Closes the subscriber. With <paramref name="drain"/> the writer still writes what is queued (graceful
    /// shutdown); otherwise queued events are dropped and the writer stops at once.
    /// </summary>
    public void Close(Disconnect reason, bool drain = false, string? detail = null)
    {
        bool wake;
        lock (_gate)
        {
            if (_closeReason is not null)
            {
                return;
            }

            _closeReason = reason;
            _closeDetail = detail;
            if (!drain)
            {
                ClearQueue();
            }

            wake = _waiting;
            _waiting = false;
        }

        if (wake)
        {
            Wake();
        }
    }

    /// <summary>Queues this subscriber's writer on the thread pool (no allocation: the subscriber is the work item).</summary>
    private void Wake() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    /// <summary>Runs the waiting writer on this thread, up to its next wait; called on a pool thread only.</summary>
    internal void Signal()
    {
        bool more;
        lock (_gate)
        {
            // False only once closed and drained: that ends the writer's loop at this wake-up, not the next.
            more = _count > 0 || _closeReason is null;
        }

        _signal.SetResult(more);
    }

    void IThreadPoolWorkItem.Execute() => Signal();

    private void ClearQueue()
    {
        _ring = null;
        _head = 0;
        _count = 0;
        _bytes = 0;
    }

    private void Push(HubEvent item)
    {
        _ring ??= new HubEvent[InitialCapacity];
        if (_count == _ring.Length)
        {
            var bigger = new HubEvent[Math.Min(_ring.Length * 2, Math.Max(_maxCount, InitialCapacity))];
            for (var i = 0; i < _count; i++)
            {
                bigger[i] = _ring[(_head + i) % _ring.Length];
            }

            _ring = bigger;
            _head = 0;
        }

        _ring[(_head + _count) % _ring.Length] = item;
        _count++;
        _bytes += item.Size;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _signal.OnCompleted(continuation, state, token, flags);
}
