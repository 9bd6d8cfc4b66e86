using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>
/// Delivers events to this node's subscribers exactly once and in id order, whatever path they came by:
/// the local writer, the backplane, or a catch-up read from the store.
/// </summary>
/// <remarks>
/// <para>Durable event ids are gapless and in commit order (see <see cref="BatchCommit.CommitBatchAsync"/>), so
/// the next event this node must deliver is always <c>last + 1</c>. An id at or below <c>last</c> is a
/// duplicate (the backplane echoing a locally delivered event, a catch-up overlapping the live flow) and is
/// dropped. An id beyond <c>last + 1</c> means an event is still on its way — another node published it a
/// moment later than this one — so the event is held back for the reorder window; if the gap is still open
/// then, the missing range is read from the store, where it is guaranteed to be already (it committed before
/// the later id was handed out). Subscribers therefore never see ids out of order, and a client's
/// Last-Event-ID is always a complete prefix of its topics.</para>
/// <para>Ephemeral events (no id) go straight to subscribers.</para>
/// </remarks>
public sealed class EventDispatcher : IEventSink, IDisposable
{
    private const int CatchUpPage = 1000;
    private const int MaxHeld = 10_000;

    private readonly TopicRegistry _registry;
    private readonly SqlStore _store;
    private readonly HeraldMetrics _metrics;
    private readonly ILogger<EventDispatcher> _logger;
    private readonly TimeSpan _reorderWindow;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, HubEvent> _held = [];
    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private readonly Timer _gapTimer;
    private long _lastId = -1;
    private bool _gapTimerArmed;

    public EventDispatcher(TopicRegistry registry, SqlStore store, HeraldMetrics metrics, ILogger<EventDispatcher> logger, TimeSpan? reorderWindow = null)
    {
        _registry = registry;
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _reorderWindow = reorderWindow ?? TimeSpan.FromMilliseconds(25);
        _gapTimer = new Timer(static s => _ = ((EventDispatcher)s!).FillGapAsync(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The highest event id delivered on this node (-1 before <see cref="InitializeAsync"/>).</summary>
    public long LastDeliveredId => Volatile.Read(ref _lastId);

    /// <summary>Starts delivering after the store's current last id: earlier events are history, served by replay.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var last = await _store.GetLastEventIdAsync(cancellationToken);
        lock (_gate)
        {
            _lastId = last;
        }
    }

    /// <summary>Delivers one event (from any source).</summary>
    public void Deliver(HubEvent item)
    {
        if (!item.IsDurable)
        {
            FanOut(item);
            return;
        }

        lock (_gate)
        {
            if (item.Id <= _lastId || _held.ContainsKey(item.Id))
            {
                _metrics.DuplicatesDropped.Add(1);
                return;
            }

            if (item.Id == _lastId + 1)
            {
                DeliverInOrderLocked(item);
                DrainHeldLocked();
                return;
            }

            _held[item.Id] = item;
            if (_held.Count >= MaxHeld)
            {
                _ = FillGapAsync();
            }
            else if (!_gapTimerArmed)
            {
                _gapTimerArmed = true;
                _gapTimer.Change(_reorderWindow, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Reads and delivers every event committed after the last delivered one. Run after a backplane
    /// outage (and periodically while it lasts): events other nodes published meanwhile are in the store.
    /// </summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken = default)
    {
        await _fetchGate.WaitAsync(cancellationToken);
        try
        {
            var head = await _store.GetLastEventIdAsync(cancellationToken);
            while (LastDeliveredId < head)
            {
                var after = LastDeliveredId;
                var page = await _store.ReadEventRangeAsync(after, head, CatchUpPage, cancellationToken);
                DeliverFetched(after, page.Count == 0 ? head : page[^1].Id, page);
                if (page.Count == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    private async Task FillGapAsync()
    {
        try
        {
            await _fetchGate.WaitAsync();
            try
            {
                long after, through;
                lock (_gate)
                {
                    _gapTimerArmed = false;
                    if (_held.Count == 0)
                    {
                        return;
                    }

                    after = _lastId;
                    through = _held.First().Key - 1;
                }

                while (after < through)
                {
                    var page = await _store.ReadEventRangeAsync(after, through, CatchUpPage, CancellationToken.None);
                    var pageEnd = page.Count < CatchUpPage ? through : page[^1].Id;
                    DeliverFetched(after, pageEnd, page);
                    after = pageEnd;
                }

                _metrics.GapsFilled.Add(1);
            }
            finally
            {
                _fetchGate.Release();
            }
        }
        catch (Exception ex)
        {
            PipelineLog.GapFillFailed(_logger, ex);
            _metrics.LoopFault("dispatcher");
            lock (_gate)
            {
                if (!_gapTimerArmed && _held.Count > 0)
                {
                    _gapTimerArmed = true;
                    _gapTimer.Change(_reorderWindow, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    // Delivers events read from the store for (after, through]. Ids in that range the store no longer has
    // were removed by retention; they are skipped so delivery can go on (clients that needed them get
    // `reset` when they resume, because the topic horizon records the trim).
    private void DeliverFetched(long after, long through, IReadOnlyList<EventRecord> page)
    {
        lock (_gate)
        {
            foreach (var record in page)
            {
                if (record.Id <= _lastId)
                {
                    continue;
                }

                if (record.Id != _lastId + 1)
                {
                    PipelineLog.EventsTrimmed(_logger, _lastId + 1, record.Id - 1);
                }

                DeliverInOrderLocked(_held.Remove(record.Id, out var live) ? live : record.ToHubEvent());
            }

            if (_lastId < through && after <= _lastId)
            {
                _lastId = through;
            }

            DrainHeldLocked();
        }
    }

    private void DrainHeldLocked()
    {
        while (_held.Count > 0)
        {
            var first = _held.First();
            if (first.Key <= _lastId)
            {
                _held.Remove(first.Key);
                continue;
            }

            if (first.Key != _lastId + 1)
            {
                break;
            }

            _held.Remove(first.Key);
            DeliverInOrderLocked(first.Value);
        }
    }

    private void DeliverInOrderLocked(HubEvent item)
    {
        _lastId = item.Id;
        FanOut(item);
    }

    // Never throws: the caller may be in the middle of draining held events (which would stay held), of a batch
    // the writer hands over (whose later events would not be delivered), or in the backplane's receive loop. The
    // event counts as delivered either way: running it again could give it twice to the subscribers that had it.
    private void FanOut(HubEvent item)
    {
        try
        {
            var delivered = _registry.Publish(item);
            _metrics.EventsDispatched.Add(1);
            if (delivered > 0)
            {
                _metrics.EventsQueued.Add(delivered);
            }
        }
        catch (Exception ex)
        {
            PipelineLog.DispatchFault(_logger, item.Id, item.Topic, ex);
            _metrics.LoopFault("dispatcher");
        }
    }

    public void Dispose()
    {
        _gapTimer.Dispose();
        _fetchGate.Dispose();
    }
}
