using System.Collections.Concurrent;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hub;

/// <summary>
/// Presence across nodes: answers who is connected to a topic (this node's <see cref="PresenceTracker"/> merged with
/// what the <see cref="IPresenceStore"/> says about the other live nodes), writes this node's changes to the store once
/// per <c>Herald:Presence:Interval</c>, sends the bounded <c>presence</c> events, and disconnects a subject on every node.
/// </summary>
/// <remarks>
/// <para><c>presence</c> events (only on topics <c>Herald:Presence:EventTopics</c> names) are computed per node, per
/// interval, per topic: the node compares the topic's presence across all nodes with what it last told its own
/// subscribers and, when it differs, delivers one ephemeral event to them (never through the bus: every node tells its
/// own). So a subscriber gets at most one <c>presence</c> event per topic per interval whatever the crowd does, and
/// each names at most <c>MaxListedSubjects</c> joined and left; a join and a leave within one interval cancel out.</para>
/// </remarks>
public sealed class PresenceService : BackgroundService
{
    /// <summary>The <c>presence</c> event's name.</summary>
    public const string EventName = "presence";

    private readonly PresenceTracker _tracker;
    private readonly IPresenceStore _store;
    private readonly ConnectionTracker _connections;
    private readonly EventDispatcher _dispatcher;
    private readonly HeraldMetrics _metrics;
    private readonly ILogger<PresenceService> _logger;
    private readonly PresenceOptions _options;
    private readonly TopicPatterns _eventTopics;
    private readonly Dictionary<string, Dictionary<string, long>> _announced = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Ticks, Task<Dictionary<string, long>> Read)> _cache = new(StringComparer.Ordinal);
    private bool _writeAll = true;

    public PresenceService(PresenceTracker tracker, IPresenceStore store, ConnectionTracker connections, EventDispatcher dispatcher, HeraldMetrics metrics,
        IOptions<HeraldOptions> options, ILogger<PresenceService> logger)
    {
        _tracker = tracker;
        _store = store;
        _connections = connections;
        _dispatcher = dispatcher;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value.Presence;
        _eventTopics = TopicPatterns.Parse(_options.EventTopics, "Herald:Presence:EventTopics");
        store.ControlReceived += OnControl;
    }

    public string NodeId => _store.NodeId;

    /// <summary>Subject key → connections on <paramref name="topic"/>, on every live node.</summary>
    public async Task<Dictionary<string, long>> TopicAsync(string topic, CancellationToken ct)
    {
        var all = await _store.ReadTopicAsync(topic, ct);
        foreach (var (subject, connections) in _tracker.Topic(topic))
        {
            all[subject] = all.GetValueOrDefault(subject) + connections;
        }

        return all;
    }

    /// <summary>
    /// <see cref="TopicAsync"/> at most <c>Interval</c> old: for answers many clients ask for (the widget's operator
    /// availability), which would otherwise cost a Redis round trip each.
    /// </summary>
    public Task<Dictionary<string, long>> CachedTopicAsync(string topic)
    {
        var now = Environment.TickCount64;
        if (_cache.TryGetValue(topic, out var entry) && now - entry.Ticks < _options.Interval.TotalMilliseconds && !entry.Read.IsFaulted)
        {
            return entry.Read;
        }

        var read = TopicAsync(topic, CancellationToken.None);
        _cache[topic] = (now, read);
        return read;
    }

    /// <summary>Topic → connections, on every live node.</summary>
    public async Task<Dictionary<string, long>> TopicsAsync(CancellationToken ct)
    {
        var all = await _store.ReadTopicsAsync(ct);
        foreach (var (topic, connections) in _tracker.TopicConnections())
        {
            all[topic] = all.GetValueOrDefault(topic) + connections;
        }

        return all;
    }

    /// <summary>Every live node's connection counts, this node first.</summary>
    public async Task<IReadOnlyList<NodeCounts>> NodesAsync(CancellationToken ct) =>
        [new NodeCounts(NodeId, Counts()), .. (await _store.ReadNodesAsync(ct)).OrderBy(n => n.NodeId, StringComparer.Ordinal)];

    /// <summary>
    /// Closes every connection of <paramref name="subject"/> (only those on <paramref name="topic"/> when given) on this
    /// node now and on the others through the backplane; returns how many were closed here.
    /// </summary>
    public async Task<int> DisconnectAsync(PresenceSubject subject, string? topic, string origin, CancellationToken ct)
    {
        var closed = CloseLocal(subject.Key, topic, origin);
        await _store.PublishControlAsync(new ControlMessage(ControlMessage.DisconnectType, subject.Key, topic), ct);
        return closed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval);
        try
        {
            do
            {
                try
                {
                    await TickAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // What this interval took is written again in full at the next one.
                    _writeAll = true;
                    PresenceLog.LoopFault(_logger, ex);
                    _metrics.LoopFault("presence");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task TickAsync(CancellationToken ct)
    {
        var changes = _tracker.TakeChanges(_writeAll);
        _writeAll = !await _store.WriteAsync(new NodePresenceUpdate(Counts(), changes), ct);
        if (!_eventTopics.IsEmpty)
        {
            await AnnounceAsync(ct);
        }
    }

    private Dictionary<string, long> Counts()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal) { ["connections"] = _connections.Count };
        foreach (var (transport, count) in _connections.CountsByTransport())
        {
            counts[transport] = count;
        }

        return counts;
    }

    private async Task AnnounceAsync(CancellationToken ct)
    {
        var topics = _tracker.TopicsMatching(_eventTopics);
        foreach (var gone in _announced.Keys.Except(topics, StringComparer.Ordinal).ToList())
        {
            _announced.Remove(gone);
        }

        foreach (var topic in topics)
        {
            var now = await TopicAsync(topic, ct);
            var before = _announced.GetValueOrDefault(topic) ?? [];
            if (now.Count == before.Count && now.All(kv => before.TryGetValue(kv.Key, out var n) && n == kv.Value))
            {
                continue;
            }

            _announced[topic] = now;
            var data = JsonSerializer.SerializeToUtf8Bytes(PresenceEvent(topic, before, now), Api.HeraldJson.Options);
            _dispatcher.Deliver(new HubEvent(0, topic, EventName, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
    }

    private PresenceEventData PresenceEvent(string topic, Dictionary<string, long> before, Dictionary<string, long> now)
    {
        var joined = now.Keys.Where(k => !before.ContainsKey(k)).ToList();
        var left = before.Keys.Where(k => !now.ContainsKey(k)).ToList();
        var max = _options.MaxListedSubjects;
        var truncated = joined.Count > max || left.Count > max;
        return new PresenceEventData(topic, now.Count, now.Values.Sum(),
            [.. joined.Order(StringComparer.Ordinal).Take(max).Select(SubjectDto.Of)],
            [.. left.Order(StringComparer.Ordinal).Take(max).Select(SubjectDto.Of)],
            truncated);
    }

    private void OnControl(ControlMessage message)
    {
        if (message.Type == ControlMessage.DisconnectType)
        {
            CloseLocal(message.Subject, message.Topic, "another node");
        }
    }

    private int CloseLocal(string subjectKey, string? topic, string origin)
    {
        var connections = _tracker.Connections(subjectKey, topic);
        foreach (var subscriber in connections)
        {
            subscriber.Close(Disconnect.ServerDisconnect, detail: "disconnected by the server");
        }

        if (connections.Count > 0)
        {
            PresenceLog.SubjectDisconnected(_logger, connections.Count, Protocol.Diagnostics.LogValue.Sanitize(subjectKey), topic ?? "(all)", origin);
        }

        return connections.Count;
    }

    /// <summary>A subject as the API and the <c>presence</c> event show it.</summary>
    public sealed record SubjectDto(string Kind, string Id)
    {
        public static SubjectDto Of(string key)
        {
            var subject = PresenceSubject.FromKey(key);
            return new SubjectDto(subject.Kind, subject.Id);
        }
    }

    private sealed record PresenceEventData(string Topic, int Subjects, long Connections, IReadOnlyList<SubjectDto> Joined, IReadOnlyList<SubjectDto> Left, bool Truncated);
}
