using System.Globalization;
using System.Text.Json;
using Herald.Protocol.Diagnostics;
using Herald.Redis;
using Herald.Server.Diagnostics;
using Microsoft.Extensions.Options;

namespace Herald.Server.Backplane;

/// <summary>
/// Presence shared through Redis: each node owns a few keys that expire unless it refreshes them, so a node that dies
/// takes its users with it; readers ask only about nodes still alive.
/// </summary>
/// <remarks>
/// <para>Keys (prefix <c>Herald:Presence:KeyPrefix</c>, default <c>herald:presence:</c>):</para>
/// <list type="bullet">
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
/// its keys lost) the node writes everything again.</para>
/// </remarks>
public sealed class RedisPresenceStore : IPresenceStore, IHostedService, IAsyncDisposable
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

    private readonly RedisChannels _channels;
    private readonly PresenceOptions _options;
    private readonly RedisClientOptions _clientOptions;
    private readonly HeraldMetrics _metrics;
    private readonly ILogger<RedisPresenceStore> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _written = new(StringComparer.Ordinal);
    private readonly string _prefix;
    private RedisConnection? _redis;
    private RedisSubscriber? _subscriber;
    private Task _run = Task.CompletedTask;
    private long _seenReconnects = -1;
    private int _slice;
    private bool _left;

    public RedisPresenceStore(RedisBus bus, RedisChannels channels, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RedisPresenceStore> logger)
    {
        NodeId = bus.NodeId;
        _channels = channels;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value.Presence;
        _prefix = _options.KeyPrefix;
        _clientOptions = new RedisClientOptions
        {
            Endpoint = RedisEndpoint.Parse(options.Value.Redis.Url!),
            ClientName = "herald-presence-" + NodeId,
            Logger = logger,
        };
    }

    public string NodeId { get; }

    public event Action<ControlMessage>? ControlReceived;

    private TimeSpan KeyLifetime => _options.Ttl + (_options.Interval * RefreshSlices);

    private string NodesKey => _prefix + "nodes";

    private string NodeKey(string node) => _prefix + "node:" + node;

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
        if (_redis is { IsConnected: true } redis)
        {
            try
            {
                await Task.WhenAll(redis.ExecuteAsync("DEL", NodeKey(NodeId)), redis.ExecuteAsync("SREM", NodesKey, NodeId)).WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
            {
                PresenceLog.LeaveFailed(_logger, LogValue.Sanitize(ex.Message));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        if (_subscriber is not null)
        {
            await _subscriber.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    public async Task<bool> WriteAsync(NodePresenceUpdate update, CancellationToken cancellationToken)
    {
        if (_redis is not { IsConnected: true } redis || Volatile.Read(ref _left))
        {
            return false;
        }

        // A reconnect may mean a Redis that lost everything: this update is not enough, the caller sends all.
        var reconnects = redis.ReconnectCount;
        var complete = Interlocked.Exchange(ref _seenReconnects, reconnects) == reconnects;
        var lifetime = ((long)KeyLifetime.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        var node = NodeId;
        var pending = new List<Task>(update.ChangedTopics.Count + 8);
        var counts = new List<object> { NodeKey(node) };
        foreach (var (name, value) in update.Counts)
        {
            counts.Add(name);
            counts.Add(value);
        }

        pending.Add(redis.ExecuteAsync("HSET", [.. counts]));
        pending.Add(redis.ExecuteAsync("PEXPIRE", NodeKey(node), (long)_options.Ttl.TotalMilliseconds));
        pending.Add(redis.ExecuteAsync("SADD", NodesKey, node));
        foreach (var (topic, subjects) in update.ChangedTopics)
        {
            var args = new List<object>(4 + ((subjects?.Count ?? 0) * 2))
            {
                WriteTopicScript, 2, TopicKey(node, topic), TopicsKey(node), topic, lifetime, subjects?.Values.Sum() ?? 0,
            };
            foreach (var (subject, connections) in subjects ?? new Dictionary<string, long>())
            {
                args.Add(subject);
                args.Add(connections);
            }

            pending.Add(redis.ExecuteAsync("EVAL", [.. args]));
            if (subjects is null)
            {
                _written.Remove(topic);
            }
            else
            {
                _written.Add(topic);
            }
        }

        pending.Add(redis.ExecuteAsync("PEXPIRE", TopicsKey(node), lifetime));
        // A slice of the topic keys per interval: each is refreshed every RefreshSlices intervals, within its lifetime.
        var slice = _slice = (_slice + 1) % RefreshSlices;
        foreach (var topic in _written)
        {
            if ((uint)StringComparer.Ordinal.GetHashCode(topic) % RefreshSlices == slice && !update.ChangedTopics.ContainsKey(topic))
            {
                pending.Add(redis.ExecuteAsync("PEXPIRE", TopicKey(node, topic), lifetime));
            }
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken);
            return complete;
        }
        catch (RedisException ex)
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
        var redis = _redis ?? throw new RedisConnectionException("The presence connection to Redis is not established yet.");
        var payload = JsonSerializer.SerializeToUtf8Bytes(new ControlPayload(message.Type, message.Subject, message.Topic, NodeId), JsonSerializerOptions.Web);
        await redis.PublishAsync(_channels.ControlChannel, payload).WaitAsync(cancellationToken);
    }

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
        var redis = _redis ?? throw new RedisConnectionException("The presence connection to Redis is not established yet.");
        var members = (await redis.ExecuteAsync("SMEMBERS", NodesKey).WaitAsync(ct)).Items.Select(i => i.AsString()!).Where(n => n != NodeId).ToList();
        var reads = members.Select(n => (Node: n, Alive: redis.ExecuteAsync("EXISTS", NodeKey(n)), Data: redis.ExecuteAsync("HGETALL", key(n)))).ToList();
        await Task.WhenAll(reads.SelectMany(r => new[] { r.Alive, r.Data })).WaitAsync(ct);
        var result = new List<(string, Dictionary<string, long>)>(reads.Count);
        foreach (var (node, alive, data) in reads)
        {
            if (alive.Result.AsInt64() == 0)
            {
                // Its node key expired: the node stopped refreshing (crashed); forget it.
                _ = redis.ExecuteAsync("SREM", NodesKey, node);
                continue;
            }

            var items = data.Result.Items;
            var fields = new Dictionary<string, long>(items.Count / 2, StringComparer.Ordinal);
            for (var i = 0; i + 1 < items.Count; i += 2)
            {
                if (long.TryParse(items[i + 1].AsString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    fields[items[i].AsString()!] = value;
                }
            }

            result.Add((node, fields));
        }

        return result;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stopping.IsCancellationRequested && (_redis is null || _subscriber is null))
        {
            try
            {
                _redis ??= await RedisConnection.ConnectAsync(_clientOptions, stopping);
                _subscriber ??= await RedisSubscriber.ConnectAsync(_clientOptions, stopping);
            }
            catch (Exception ex) when (ex is RedisException or IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                PresenceLog.RedisUnreachable(_logger, LogValue.Sanitize(ex.Message), delay.TotalMilliseconds);
                await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
            }
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await _subscriber!.SubscribeAsync(_channels.ControlChannel);
        }
        catch (RedisConnectionException ex)
        {
            // The subscriber keeps the channel and subscribes again when it reconnects.
            PresenceLog.SubscribeDeferred(_logger, ex.Message);
        }

        try
        {
            await foreach (var message in _subscriber!.Messages.ReadAllAsync(stopping))
            {
                try
                {
                    Receive(message);
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
    }

    private void Receive(RedisMessage message)
    {
        var payload = JsonSerializer.Deserialize<ControlPayload>(message.Payload.Span, JsonSerializerOptions.Web);
        if (payload is null || payload.Node == NodeId || payload.Type is null || payload.Subject is null)
        {
            return; // our own message (acted on before it was sent), or not one of ours
        }

        ControlReceived?.Invoke(new ControlMessage(payload.Type, payload.Subject, payload.Topic));
    }

    private sealed record ControlPayload(string? Type, string? Subject, string? Topic, string? Node);
}
