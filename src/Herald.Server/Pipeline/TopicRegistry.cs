using System.Collections.Concurrent;
using System.Diagnostics;
using Herald.Server.Diagnostics;
using Herald.Server.Events;

namespace Herald.Server.Pipeline;

/// <summary>
/// Which subscribers on this node listen to which topic.
/// </summary>
/// <remarks>
/// Each topic keeps its subscribers in an array that is replaced, never mutated, on subscribe and
/// unsubscribe (copy-on-write). Fan-out reads the current array without a lock and without allocating,
/// which is what the broadcast path needs; subscribing is rare by comparison and pays the copy.
/// <para>A fault while queuing to one subscriber (its abort, called on overflow, may throw) is logged and counted
/// and the fan-out goes on: the subscribers after it in the list still get the event, which they used to miss.</para>
/// </remarks>
/// <param name="metrics">Counts fan-out faults (<c>herald_loop_faults_total{loop="dispatcher"}</c>); optional for tests and benchmarks.</param>
/// <param name="logger">Logs fan-out faults; optional for tests and benchmarks.</param>
public sealed class TopicRegistry(HeraldMetrics? metrics = null, ILogger<TopicRegistry>? logger = null)
{
    private readonly ConcurrentDictionary<string, TopicSubscribers> _topics = new(StringComparer.Ordinal);

    /// <summary>Topics with at least one subscriber on this node.</summary>
    public int TopicCount => _topics.Count;

    /// <summary>
    /// Raised on the registering thread after a topic gained its first subscriber or lost its last (the backplane
    /// subscribes and unsubscribes its channel). A handler checks <see cref="HasSubscribers"/> itself: by the time it
    /// runs the topic may have changed again, and a spurious call is harmless where a missed one is not.
    /// </summary>
    public event Action<string>? InterestChanged;

    public void Add(Subscriber subscriber)
    {
        foreach (var topic in subscriber.Topics)
        {
            while (true)
            {
                var entry = _topics.GetOrAdd(topic, static _ => new TopicSubscribers());
                if (entry.TryAdd(subscriber, out var first))
                {
                    if (first)
                    {
                        InterestChanged?.Invoke(topic);
                    }

                    break;
                }

                // The entry emptied and was removed between GetOrAdd and TryAdd; take the new one.
            }
        }
    }

    public void Remove(Subscriber subscriber)
    {
        foreach (var topic in subscriber.Topics)
        {
            if (_topics.TryGetValue(topic, out var entry) && entry.Remove(subscriber))
            {
                // Emptied: retire it. A concurrent Add sees it retired and retries with a fresh entry.
                _topics.TryRemove(new KeyValuePair<string, TopicSubscribers>(topic, entry));
                InterestChanged?.Invoke(topic);
            }
        }
    }

    /// <summary>Queues <paramref name="item"/> to every subscriber of its topic; returns how many accepted it.</summary>
    /// <remarks>An untraced event (tracing off: all of them) pays one field test here, once per event, not per delivery.</remarks>
    public int Publish(HubEvent item) => item.IsTraced && _topics.ContainsKey(item.Topic) ? PublishTraced(item) : PublishCore(item);

    /// <summary>
    /// One <c>herald.deliver</c> span for this node's whole fan-out of the event, a child of the publishing node's
    /// <c>herald.publish</c>: the count it was queued to and, for a small topic, each connection as a span event. A node
    /// with no subscriber of the topic adds no span: a trace shows the nodes the message reached someone on.
    /// </summary>
    private int PublishTraced(HubEvent item)
    {
        using var activity = HeraldTracing.Source.StartActivity("herald.deliver", ActivityKind.Consumer, item.TraceContext);
        var delivered = PublishCore(item);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("herald.event_id", item.Id);
            activity.SetTag("herald.topic", item.Topic);
            activity.SetTag("herald.event", item.Type);
            activity.SetTag("herald.subscribers", delivered);
            if (_topics.TryGetValue(item.Topic, out var entry) && entry.Snapshot is { Length: <= HeraldTracing.MaxSubscriberEvents } subscribers)
            {
                foreach (var subscriber in subscribers)
                {
                    activity.AddEvent(new ActivityEvent("herald.subscriber", tags: new ActivityTagsCollection
                    {
                        ["herald.transport"] = subscriber.Transport,
                        ["client.address"] = subscriber.ClientKey,
                    }));
                }
            }
        }

        return delivered;
    }

    private int PublishCore(HubEvent item)
    {
        if (!_topics.TryGetValue(item.Topic, out var entry))
        {
            return 0;
        }

        var snapshot = entry.Snapshot;
        if (snapshot.Length == 1)
        {
            try
            {
                return snapshot[0].TryEnqueue(item) ? 1 : 0;
            }
            catch (Exception ex)
            {
                OnFault(snapshot[0], item, ex);
                return 0;
            }
        }

        // Many writers to wake: in batches, so each pool work item runs several of them (see WakeBatch).
        // The try sits outside the loop and restarts it after the faulty subscriber: the broadcast path pays nothing for it.
        var delivered = 0;
        WakeBatch? wakes = null;
        var i = 0;
        while (i < snapshot.Length)
        {
            try
            {
                for (; i < snapshot.Length; i++)
                {
                    if (snapshot[i].TryEnqueue(item, ref wakes))
                    {
                        delivered++;
                    }
                }
            }
            catch (Exception ex)
            {
                OnFault(snapshot[i], item, ex);
                i++;
            }
        }

        wakes?.Dispatch();
        return delivered;
    }

    private void OnFault(Subscriber subscriber, HubEvent item, Exception exception)
    {
        metrics?.LoopFault("dispatcher");
        if (logger is not null)
        {
            PipelineLog.FanOutFault(logger, item.Id, item.Topic, subscriber.Transport, exception);
        }
    }

    public bool HasSubscribers(string topic) => _topics.ContainsKey(topic);

    /// <summary>Subscriber counts by topic, largest first, at most <paramref name="limit"/> entries (for stats).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> TopTopics(int limit) =>
        _topics.Select(kv => new KeyValuePair<string, int>(kv.Key, kv.Value.Snapshot.Length))
            .OrderByDescending(kv => kv.Value)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(limit)
            .ToList();

    /// <summary>The topics with subscribers on this node (for catch-up after a backplane outage).</summary>
    public IReadOnlyCollection<string> Topics => (IReadOnlyCollection<string>)_topics.Keys;

    private sealed class TopicSubscribers
    {
        private readonly Lock _gate = new();
        private bool _retired;

        public Subscriber[] Snapshot { get; private set; } = [];

        public bool TryAdd(Subscriber subscriber, out bool first)
        {
            lock (_gate)
            {
                first = Snapshot.Length == 0;
                if (_retired)
                {
                    return false;
                }

                Snapshot = [.. Snapshot, subscriber];
                return true;
            }
        }

        /// <summary>Removes; returns true when that left the topic empty (and retired).</summary>
        public bool Remove(Subscriber subscriber)
        {
            lock (_gate)
            {
                var index = Array.IndexOf(Snapshot, subscriber);
                if (index < 0)
                {
                    return false;
                }

                if (Snapshot.Length == 1)
                {
                    Snapshot = [];
                    _retired = true;
                    return true;
                }

                var next = new Subscriber[Snapshot.Length - 1];
                Array.Copy(Snapshot, 0, next, 0, index);
                Array.Copy(Snapshot, index + 1, next, index, Snapshot.Length - index - 1);
                Snapshot = next;
                return false;
            }
        }
    }
}
