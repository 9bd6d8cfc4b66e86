using System.Text.Json;
using Herald.Protocol.Diagnostics;
using Herald.Server.Diagnostics;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Herald.Server.Backplane;

/// <summary>
/// Presence shared through Redis: each node owns a few keys that expire unless it refreshes them, so a node that dies
/// takes its users with it; readers ask only about nodes still alive.
/// </summary>
/// <remarks>
/// <para>Keys (prefix <c>Herald:Presence:KeyPrefix</c>, default <c>herald:presence:</c>):</para>
/// <list type="bullet">
/// <item>A node's keys carry its id as a hash tag (<c>{id}</c>), so they share one Cluster slot and the per-topic
/// script may name two of them.</item>
/// <item><c>{p}nodes</c>: a set of node ids, pruned by readers of ids whose node key has expired.</item>
/// <item><c>{p}node:{id}</c>: hash of the node's connection counts; expires after <c>Ttl</c>. Its existence is the
/// node's liveness: a node without it is dead, whatever else of it is left in Redis.</item>
/// <item><c>{p}node:{id}:topics</c>: hash topic → connections on that node.</item>
/// <item><c>{p}node:{id}:topic:{topic}</c>: hash subject (<c>kind:id</c>) → connections on that node.</item>
/// </list>
/// <para>A node writes only the topics that changed in an interval, each with one script (delete, fill, expire: a
/// reader never sees a half-written topic). Topic keys live <c>Ttl + 10 × Interval</c> and a tenth of them is
/// refreshed per interval, so an idle node costs a few commands per interval however many topics it serves; they
/// are garbage after a crash, not answers, because the node key is gone first. After a reconnect (Redis restarted,
/// its keys lost) the node writes everything again. It shares the backplane's connection (<see cref="RedisBus.Connection"/>):
/// one multiplexer per node follows a Sentinel failover or a Cluster for both.</para>
/// </remarks>
public sealed class RedisPresenceStore : IPresenceStore, IHostedService, IDisposable
{
    private const int RefreshSlices = 10;

    // Atomic per topic: KEYS[1] the topic's subjects, KEYS[2] the node's topic index; ARGV: topic, lifetime ms,
    // connections, then subject/count pairs (none: the node no longer serves the topic). HSET in chunks stays under
    // Lua's stack limit for topics with thousands of subjects.
    private const string WriteTopicScript = """
        redis.call('DEL', KEYS[1])
        if #ARGV > 3 then
          for i = 4, #ARGV, 1000 do
            redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
          end
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        else
          redis.call('HDEL', KEYS[2], ARGV[1])
        end
        return 1
        """;

    private readonly RedisBus _bus;
    private readonly RedisChannels _channels;
    private readonly PresenceOptions _options;
    private readonly HeraldMetrics _metrics;
    private readonly ILogger<RedisPresenceStore> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    private readonly string _prefix;
    private Task _run = Task.CompletedTask;
    private long _seenReconnects = -1;
    private int _slice;
    private bool _left;

    public RedisPresenceStore(RedisBus bus, RedisChannels channels, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RedisPresenceStore> logger)
    {
        _bus = bus;
        NodeId = bus.NodeId;
        _channels = channels;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value.Presence;
        _prefix = _options.KeyPrefix;
    }

    public string NodeId { get; }

    public event Action<ControlMessage>? ControlReceived;

    /// <summary>How long a node's keys other than its liveness key live without a refresh.</summary>
    internal TimeSpan KeyLifetime => _options.Ttl + (_options.Interval * RefreshSlices);

    private RedisChannel ControlChannel => RedisChannel.Literal(_channels.ControlChannel);

    /// <summary><c>Herald:Presence:KeyPrefix</c>: every key of presence and of what is kept beside it starts with it.</summary>
    internal string KeyPrefix => _prefix;

    internal string NodesKey => _prefix + "nodes";

    /// <summary>A node's liveness key: it exists while the node is alive (<see cref="RedisMercureSubscriptionStore"/> keys off it too).</summary>
    internal string NodeKey(string node) => _prefix + "node:{" + node + "}";

    private string TopicsKey(string node) => NodeKey(node) + ":topics";

    private string TopicKey(string node, string topic) => NodeKey(node) + ":topic:" + topic;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _run = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _left, true);
        await _stopping.CancelAsync();
        try
        {
            await _run.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        // A graceful stop leaves at once instead of after Ttl; a crash is what the expiry is for.
        if (_bus.Connection is { IsConnected: true } redis)
        {
            var db = redis.GetDatabase();
            try
            {
                await Task.WhenAll(db.KeyDeleteAsync(NodeKey(NodeId)), db.SetRemoveAsync(NodesKey, NodeId)).WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
            {
                PresenceLog.LeaveFailed(_logger, LogValue.Sanitize(ex.Message));
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    public async Task<bool> WriteAsync(NodePresenceUpdate update, CancellationToken cancellationToken)
    {
        if (_bus.Connection is not { IsConnected: true } redis || Volatile.Read(ref _left))
        {
            return false;
        }

        // A reconnect may mean a Redis that lost everything: this update is not enough, the caller sends all.
        var reconnects = _bus.ReconnectCount;
        var complete = Interlocked.Exchange(ref _seenReconnects, reconnects) == reconnects;
        var lifetime = KeyLifetime;
        var lifetimeMs = (long)lifetime.TotalMilliseconds;
        var node = NodeId;
        var db = redis.GetDatabase();
        var pending = new List<Task>(update.ChangedTopics.Count + 8);
        if (update.Counts.Count > 0)
        {
            pending.Add(db.HashSetAsync(NodeKey(node), [.. update.Counts.Select(c => new HashEntry(c.Key, c.Value))]));
        }

        pending.Add(db.KeyExpireAsync(NodeKey(node), _options.Ttl));
        pending.Add(db.SetAddAsync(NodesKey, node));
        foreach (var (topic, subjects) in update.ChangedTopics)
        {
            var values = new List<RedisValue>(3 + ((subjects?.Count ?? 0) * 2)) { topic, lifetimeMs, subjects?.Values.Sum() ?? 0 };
            foreach (var (subject, connections) in subjects ?? new Dictionary<string, long>())
            {
                values.Add(subject);
                values.Add(connections);
            }

            pending.Add(db.ScriptEvaluateAsync(WriteTopicScript, [TopicKey(node, topic), TopicsKey(node)], [.. values]));
            if (subjects is null)
            {
                _written.Remove(topic);
            }
            else
            {
                _written.Add(topic);
            }
        }

        pending.Add(db.KeyExpireAsync(TopicsKey(node), lifetime));
        // A slice of the topic keys per interval: each is refreshed every RefreshSlices intervals, within its lifetime.
        var slice = _slice = (_slice + 1) % RefreshSlices;
        foreach (var topic in _written)
        {
            if ((uint)StringComparer.Ordinal.GetHashCode(topic) % RefreshSlices == slice && !update.ChangedTopics.ContainsKey(topic))
            {
                pending.Add(db.KeyExpireAsync(TopicKey(node, topic), lifetime));
            }
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken);
            return complete;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            PresenceLog.WriteFailed(_logger, LogValue.Sanitize(ex.Message));
            Interlocked.Exchange(ref _seenReconnects, -1);
            return false;
        }
    }

    public async Task<Dictionary<string, long>> ReadTopicAsync(string topic, CancellationToken cancellationToken) =>
        Sum(await ReadFromLiveNodesAsync(node => TopicKey(node, topic), cancellationToken));

    public async Task<Dictionary<string, long>> ReadTopicsAsync(CancellationToken cancellationToken) =>
        Sum(await ReadFromLiveNodesAsync(TopicsKey, cancellationToken));

    public async Task<IReadOnlyList<NodeCounts>> ReadNodesAsync(CancellationToken cancellationToken) =>
        [.. (await ReadFromLiveNodesAsync(NodeKey, cancellationToken)).Select(n => new NodeCounts(n.Node, n.Fields))];

    public async Task PublishControlAsync(ControlMessage message, CancellationToken cancellationToken)
    {
        var redis = Connected();
        var payload = JsonSerializer.SerializeToUtf8Bytes(new ControlPayload(message.Type, message.Subject, message.Topic, NodeId), JsonSerializerOptions.Web);
        await redis.GetSubscriber().PublishAsync(ControlChannel, payload).WaitAsync(cancellationToken);
    }

    internal IConnectionMultiplexer Connected() =>
        _bus.Connection is { IsConnected: true } redis ? redis : throw new BackplaneUnavailableException("The connection to Redis is not established.");

    /// <summary>The id of the backplane's current connection, bumped on every reconnect (the store may have lost everything).</summary>
    internal long ReconnectCount => _bus.ReconnectCount;

    private static Dictionary<string, long> Sum(IEnumerable<(string Node, Dictionary<string, long> Fields)> nodes)
    {
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (_, fields) in nodes)
        {
            foreach (var (key, value) in fields)
            {
                sum[key] = sum.GetValueOrDefault(key) + value;
            }
        }

        return sum;
    }

    // One round trip for the node list, one pipelined round for liveness and data of every other node.
    private async Task<List<(string Node, Dictionary<string, long> Fields)>> ReadFromLiveNodesAsync(Func<string, string> key, CancellationToken ct)
    {
        var db = Connected().GetDatabase();
        List<(string Node, Task<bool> Alive, Task<HashEntry[]> Data)> reads;
        try
        {
            var members = (await db.SetMembersAsync(NodesKey).WaitAsync(ct)).Select(m => m.ToString()).Where(n => n != NodeId).ToList();
            reads = [.. members.Select(n => (Node: n, Alive: db.KeyExistsAsync(NodeKey(n)), Data: db.HashGetAllAsync(key(n))))];
            await Task.WhenAll(reads.SelectMany(r => new Task[] { r.Alive, r.Data })).WaitAsync(ct);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis went away under a read (a timeout, a dropped connection): the caller answers 503, not 500.
            throw new BackplaneUnavailableException("Redis did not answer: " + ex.Message, ex);
        }

        var result = new List<(string, Dictionary<string, long>)>(reads.Count);
        foreach (var (node, alive, data) in reads)
        {
            if (!alive.Result)
            {
                // Its node key expired: the node stopped refreshing (crashed); forget it.
                _ = db.SetRemoveAsync(NodesKey, node, CommandFlags.FireAndForget);
                continue;
            }

            var fields = new Dictionary<string, long>(data.Result.Length, StringComparer.Ordinal);
            foreach (var entry in data.Result)
            {
                if (entry.Value.TryParse(out long value))
                {
                    fields[entry.Name.ToString()] = value;
                }
            }

            result.Add((node, fields));
        }

        return result;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        // The backplane owns the connection and makes it; this waits for it, then subscribes to the control channel
        // once (StackExchange.Redis subscribes again by itself after a reconnect or a failover).
        var delay = TimeSpan.FromMilliseconds(100);
        ChannelMessageQueue? queue = null;
        while (!stopping.IsCancellationRequested && queue is null)
        {
            try
            {
                if (_bus.Connection is { } redis)
                {
                    queue = await redis.GetSubscriber().SubscribeAsync(ControlChannel);
                    break;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                PresenceLog.SubscribeDeferred(_logger, LogValue.Sanitize(ex.Message));
            }

            await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
        }

        if (queue is null)
        {
            return;
        }

        try
        {
            while (true)
            {
                var message = await queue.ReadAsync(stopping);
                try
                {
                    Receive(message.Message);
                }
                catch (Exception ex)
                {
                    PresenceLog.ControlFault(_logger, ex);
                    _metrics.LoopFault("presence_control");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
        }
        finally
        {
            await queue.UnsubscribeAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Receive(RedisValue message)
    {
        var payload = JsonSerializer.Deserialize<ControlPayload>((byte[])message!, JsonSerializerOptions.Web);
        if (payload is null || payload.Node == NodeId || payload.Type is null || payload.Subject is null)
        {
            return; // our own message (acted on before it was sent), or not one of ours
        }

        ControlReceived?.Invoke(new ControlMessage(payload.Type, payload.Subject, payload.Topic));
    }

    private sealed record ControlPayload(string? Type, string? Subject, string? Topic, string? Node);
}
