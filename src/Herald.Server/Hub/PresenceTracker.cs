using Herald.Server.Auth;
using Herald.Server.Pipeline;

namespace Herald.Server.Hub;

/// <summary>
/// This node's presence: for each topic, which subjects hold how many connections, and which connections each subject
/// has (to disconnect a user). <see cref="StreamHost"/> adds and removes every stream; the <see cref="PresenceService"/>
/// takes what changed once per interval.
/// </summary>
/// <remarks>One lock: it is taken on connect and disconnect only, never on the publish path.</remarks>
public sealed class PresenceTracker
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, long>> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Subscriber>> _bySubject = new(StringComparer.Ordinal);
    private readonly Dictionary<Subscriber, string> _subjectOf = [];
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);

    public void Add(Subscriber subscriber, PresenceSubject subject)
    {
        var key = subject.Key;
        lock (_gate)
        {
            if (!_subjectOf.TryAdd(subscriber, key))
            {
                return;
            }

            if (!_bySubject.TryGetValue(key, out var connections))
            {
                _bySubject[key] = connections = [];
            }

            connections.Add(subscriber);
            foreach (var topic in subscriber.Topics)
            {
                if (!_topics.TryGetValue(topic, out var subjects))
                {
                    _topics[topic] = subjects = new Dictionary<string, long>(StringComparer.Ordinal);
                }

                subjects[key] = subjects.GetValueOrDefault(key) + 1;
                _changed.Add(topic);
            }
        }
    }

    public void Remove(Subscriber subscriber)
    {
        lock (_gate)
        {
            if (!_subjectOf.Remove(subscriber, out var key))
            {
                return;
            }

            if (_bySubject.TryGetValue(key, out var connections) && connections.Remove(subscriber) && connections.Count == 0)
            {
                _bySubject.Remove(key);
            }

            foreach (var topic in subscriber.Topics)
            {
                if (!_topics.TryGetValue(topic, out var subjects))
                {
                    continue;
                }

                if (subjects.GetValueOrDefault(key) <= 1)
                {
                    subjects.Remove(key);
                }
                else
                {
                    subjects[key]--;
                }

                if (subjects.Count == 0)
                {
                    _topics.Remove(topic);
                }

                _changed.Add(topic);
            }
        }
    }

    /// <summary>Subject key → connections on <paramref name="topic"/> here (a copy).</summary>
    public Dictionary<string, long> Topic(string topic)
    {
        lock (_gate)
        {
            return _topics.TryGetValue(topic, out var subjects) ? new(subjects, StringComparer.Ordinal) : new(StringComparer.Ordinal);
        }
    }

    /// <summary>Topic → connections here.</summary>
    public Dictionary<string, long> TopicConnections()
    {
        lock (_gate)
        {
            return _topics.ToDictionary(t => t.Key, t => t.Value.Values.Sum(), StringComparer.Ordinal);
        }
    }

    /// <summary>The topics with at least one connection here that <paramref name="patterns"/> match.</summary>
    public List<string> TopicsMatching(TopicPatterns patterns)
    {
        lock (_gate)
        {
            return [.. _topics.Keys.Where(patterns.Matches)];
        }
    }

    /// <summary>
    /// The subject lists of the topics changed since the last call (null: no connection left here), or of every topic
    /// when <paramref name="all"/> (the store lost track), and clears the changes.
    /// </summary>
    public Dictionary<string, IReadOnlyDictionary<string, long>?> TakeChanges(bool all)
    {
        lock (_gate)
        {
            var topics = all ? _topics.Keys.Concat(_changed).Distinct(StringComparer.Ordinal) : _changed;
            var changes = topics.ToDictionary(t => t,
                t => _topics.TryGetValue(t, out var s) ? new Dictionary<string, long>(s, StringComparer.Ordinal) : (IReadOnlyDictionary<string, long>?)null,
                StringComparer.Ordinal);
            _changed.Clear();
            return changes;
        }
    }

    /// <summary>The connections of <paramref name="subjectKey"/> here, only those subscribed to <paramref name="topic"/> when given.</summary>
    public List<Subscriber> Connections(string subjectKey, string? topic)
    {
        lock (_gate)
        {
            return _bySubject.TryGetValue(subjectKey, out var connections)
                ? [.. connections.Where(s => topic is null || s.Topics.Contains(topic, StringComparer.Ordinal))]
                : [];
        }
    }
}
