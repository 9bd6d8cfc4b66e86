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
/// <para>With <c>Herald:Redis:Subscribe=interest</c> a node receives the bodies of its own topics only, and learns of the
/// other ids from commit markers (<see cref="Cover"/>: an id range and each id's topic). The prefix then advances over
/// an id when its body is here, or when its topic has no subscriber on this node at that moment (decided under the
/// lock, in id order, so a subscriber registered in between sees exactly the suffix after its registration, as
/// with bodies). An id whose topic is wanted but whose body is missing, or an id no marker or body named yet, waits
/// the reorder window and is then read from the store with the rest of the known range. docs/scaling.md, "How a node
/// knows it has every event", lists the failure cases.</para>
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
    // Topics of ids beyond _lastId known from commit markers, whose bodies are not (yet) here.
    private readonly Dictionary<long, string> _markers = [];
    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private readonly Timer _gapTimer;
    private long _lastId = -1;
    // The highest id known to be committed (from a body or a marker); everything up to it may be read from the store.
    private long _knownThrough = -1;
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
            _knownThrough = Math.Max(_knownThrough, item.Id);
            WaitForGapLocked();
        }
    }

    /// <summary>
    /// Takes a commit marker: the ids <paramref name="firstId"/> … <c>firstId + topics.Count - 1</c> committed, with
    /// these topics. Ids of topics nobody here subscribes to are covered without their bodies; the others wait for theirs.
    /// </summary>
    public void Cover(long firstId, IReadOnlyList<string> topics)
    {
        lock (_gate)
        {
            var last = firstId + topics.Count - 1;
            if (last <= _lastId)
            {
                return;
            }

            _knownThrough = Math.Max(_knownThrough, last);
            for (var i = (int)Math.Max(0, _lastId + 1 - firstId); i < topics.Count; i++)
            {
                var id = firstId + i;
                if (!_held.ContainsKey(id))
                {
                    _markers[id] = topics[i];
                }
            }

            DrainHeldLocked();
        }
    }

    /// <summary>True when a subscriber on this node listens to <paramref name="topic"/> (the backplane subscribes to it).</summary>
    public bool Wants(string topic) => _registry.HasSubscribers(topic);

    /// <summary>Raised (on the registering thread; must not block) when a topic may have gained its first or lost its last subscriber.</summary>
    public event Action<string>? InterestChanged
    {
        add => _registry.InterestChanged += value;
        remove => _registry.InterestChanged -= value;
    }

    /// <summary>The topics subscribed to on this node now.</summary>
    public IReadOnlyCollection<string> Interests => _registry.Topics;

    // Something beyond the prefix is known to be committed but cannot be delivered yet: give it the reorder window, or
    // read it from the store at once when too much is waiting.
    private void WaitForGapLocked()
    {
        if (_knownThrough <= _lastId)
        {
            return;
        }

        if (_held.Count + _markers.Count >= MaxHeld)
        {
            _ = FillGapAsync();
        }
        else if (!_gapTimerArmed)
        {
            _gapTimerArmed = true;
            _gapTimer.Change(_reorderWindow, Timeout.InfiniteTimeSpan);
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
                    if (_knownThrough <= _lastId)
                    {
                        return;
                    }

                    after = _lastId;
                    // Without markers only the gap before the first held event is missing; with them, ids past it may be
                    // wanted bodies that never came, so the whole known range is read (held bodies are kept, not re-read).
                    through = _markers.Count == 0 && _held.Count > 0 ? _held.First().Key - 1 : _knownThrough;
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
                if (!_gapTimerArmed && _knownThrough > _lastId)
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

            _knownThrough = Math.Max(_knownThrough, _lastId);
            PruneMarkersLocked();
            DrainHeldLocked();
        }
    }

    // Advances the prefix over held bodies and over marked ids of topics nobody here wants, then waits for what is left.
    private void DrainHeldLocked()
    {
        while (_held.Count > 0)
        {
            var first = _held.First();
            if (first.Key > _lastId)
            {
                break;
            }

            _held.Remove(first.Key);
        }

        while (true)
        {
            var next = _lastId + 1;
            if (_held.Count > 0 && _held.Remove(next, out var body))
            {
                DeliverInOrderLocked(body);
                continue;
            }

            if (_markers.Count > 0 && _markers.TryGetValue(next, out var topic) && !_registry.HasSubscribers(topic))
            {
                _markers.Remove(next);
                _lastId = next;
                _metrics.EventsCovered.Add(1);
                continue;
            }

            break;
        }

        WaitForGapLocked();
    }

    private void DeliverInOrderLocked(HubEvent item)
    {
        _lastId = item.Id;
        if (_markers.Count > 0)
        {
            _markers.Remove(item.Id);
        }

        FanOut(item);
    }

    // Markers at or below the prefix (it jumped over them: a store read, a trimmed range) are dropped.
    private void PruneMarkersLocked()
    {
        if (_markers.Count == 0)
        {
            return;
        }

        List<long>? stale = null;
        foreach (var id in _markers.Keys)
        {
            if (id <= _lastId)
            {
                (stale ??= []).Add(id);
            }
        }

        if (stale is not null)
        {
            foreach (var id in stale)
            {
                _markers.Remove(id);
            }
        }
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
