using System.Threading.Channels;
using Herald.Protocol.Diagnostics;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Herald.Server.Backplane;

/// <summary>
/// The Redis backplane: every event published on a node goes to Redis once and reaches subscribers on every
/// node exactly once, including the node that published it. One StackExchange.Redis multiplexer carries it, so a
/// single server, Sentinel (the multiplexer follows the promoted replica) and Cluster are all the same code.
/// </summary>
/// <remarks>
/// <para>The publishing node delivers its own events directly (no round trip through Redis for local
/// subscribers, and local delivery goes on while Redis is down) and publishes them; every node, the publisher
/// included, receives them back from Redis, where the dispatcher (<see cref="IEventSink"/>) drops the copy it already has by id.
/// Ephemeral events have no id, so a node skips its own by the <c>herald_node</c> field instead.</para>
/// <para>Redis pub/sub is fire-and-forget: a message published while a node is disconnected, or during a failover,
/// never reaches it. Nothing durable depends on it: the pipeline's <c>StoreWatcher</c> notices the store's head moving
/// past what the node has delivered and catches up from the store — after a reconnect at once, during an outage
/// continuously. So publishing fails fast while disconnected (<see cref="BacklogPolicy.FailFast"/>) instead of queueing
/// commands that would only repeat what the store already gave the other nodes.</para>
/// <para>Each subscription has its own ordered queue and loop (StackExchange.Redis runs plain handlers concurrently,
/// which would reorder one channel's messages). Neither loop ends before the node stops: a message or a batch that
/// fails is logged and counted (<c>herald_loop_faults_total{loop="redis_receive"}</c>, <c>{loop="redis_publish"}</c>)
/// and the loop goes on with the next. A dead receive loop would leave the node deaf to ephemeral events and a store
/// poll behind for durable ones.</para>
/// </remarks>
public sealed class RedisBus : IEventBus, IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly IEventSink _dispatcher;
    private readonly RedisChannels _channels;
    private readonly ConfigurationOptions _configuration;
    private readonly string _endpoint;
    private readonly ILogger<RedisBus> _logger;
    private readonly HeraldMetrics _metrics;
    private readonly Channel<HubEvent> _outbox = Channel.CreateBounded<HubEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private ConnectionMultiplexer? _redis;
    private ISubscriber? _subscriber;
    private volatile bool _subscribed;
    private long _reconnects;
    private Task _run = Task.CompletedTask;

    public RedisBus(IEventSink dispatcher, RedisChannels channels, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RedisBus> logger)
    {
        _dispatcher = dispatcher;
        _channels = channels;
        _metrics = metrics;
        _logger = logger;
        var redis = options.Value.Redis;
        NodeId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        _configuration = RedisConfiguration.Parse(redis.Url!);
        if (!string.IsNullOrWhiteSpace(redis.TlsCaFile))
        {
            RedisConfiguration.TrustIssuer(_configuration, redis.TlsCaFile);
        }

        _configuration.ClientName ??= "herald-" + NodeId;
        // The node serves even when Redis is down at start: it reports "disconnected" and keeps trying.
        _configuration.AbortOnConnectFail = false;
        _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        // Reconnect soon after a restart or a failover (the store covers the gap, but every second is catch-up work).
        _configuration.ReconnectRetryPolicy = new ExponentialRetry(100, (int)MaxRetryDelay.TotalMilliseconds);
        _endpoint = RedisConfiguration.Describe(_configuration);
    }

    /// <summary>Identifies this node's messages on the backplane.</summary>
    public string NodeId { get; }

    /// <summary>The node's one connection to Redis (null until the first attempt returns), shared with <see cref="RedisPresenceStore"/>.</summary>
    public IConnectionMultiplexer? Connection => Volatile.Read(ref _redis);

    public string State => _subscribed && _redis is { IsConnected: true } ? "connected" : "disconnected";

    /// <summary>Times a connection to Redis (commands or subscriptions, any server) was re-established.</summary>
    public long ReconnectCount => Interlocked.Read(ref _reconnects);

    /// <summary>Raised when the subscription is (re)established: events published meanwhile must be read from the store.</summary>
    public event Action? Reconnected;

    public void Publish(IReadOnlyList<HubEvent> events)
    {
        foreach (var item in events)
        {
            _dispatcher.Deliver(item);
            if (!_outbox.Writer.TryWrite(item))
            {
                // Full only when Redis has been unusable for a long time; durable events are caught up from the store.
                BackplaneLog.OutboxFull(_logger, item.Id, item.Topic);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _run = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _outbox.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await _run.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stopping.IsCancellationRequested && _redis is null)
        {
            try
            {
                // With AbortOnConnectFail off this returns unconnected and keeps trying; it throws only for what no retry
                // mends (Sentinel that knows no such service, for one).
                _redis = await ConnectionMultiplexer.ConnectAsync(_configuration);
            }
            catch (Exception ex) when (ex is RedisException or IOException or System.Net.Sockets.SocketException or TimeoutException or ArgumentException)
            {
                BackplaneLog.RedisUnreachable(_logger, _endpoint, LogValue.Sanitize(ex.Message), delay.TotalMilliseconds);
                await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = Doubled(delay);
            }
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        _subscriber = _redis!.GetSubscriber();
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
        var queues = new List<ChannelMessageQueue>(_channels.Subscriptions.Count);
        foreach (var channel in _channels.Subscriptions)
        {
            queues.Add(await SubscribeAsync(channel, stopping));
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        _subscribed = true;
        BackplaneLog.RedisConnected(_logger, _endpoint, NodeId);
        Reconnected?.Invoke();
        await Task.WhenAll([PublishLoopAsync(stopping), .. queues.Select(q => ReceiveLoopAsync(q, stopping))]);
    }

    /// <summary>
    /// Subscribes once the multiplexer has a connection. The multiplexer keeps the subscription and makes it again after
    /// every reconnect and failover; a subscribe that fails is undone before it is tried again, so that a channel never
    /// ends up with two queues (every message twice).
    /// </summary>
    private async Task<ChannelMessageQueue> SubscribeAsync(RedisChannel channel, CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            stopping.ThrowIfCancellationRequested();
            if (_redis!.IsConnected)
            {
                try
                {
                    return await _subscriber!.SubscribeAsync(channel);
                }
                catch (RedisException ex)
                {
                    BackplaneLog.SubscribeDeferred(_logger, channel.ToString(), LogValue.Sanitize(ex.Message));
                    await _subscriber!.UnsubscribeAsync(channel, handler: null, CommandFlags.FireAndForget).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            await Task.Delay(delay, stopping);
            delay = Doubled(delay);
        }
    }

    private static TimeSpan Doubled(TimeSpan delay) => TimeSpan.FromMilliseconds(Math.Min(MaxRetryDelay.TotalMilliseconds, delay.TotalMilliseconds * 2));

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) =>
        BackplaneLog.ConnectionLost(_logger, e.EndPoint is null ? "?" : EndPointCollection.ToString(e.EndPoint), e.ConnectionType.ToString(), e.FailureType.ToString());

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        Interlocked.Increment(ref _reconnects);
        BackplaneLog.ConnectionRestored(_logger, e.EndPoint is null ? "?" : EndPointCollection.ToString(e.EndPoint), e.ConnectionType.ToString());
        if (e.ConnectionType == ConnectionType.Subscription && _subscribed)
        {
            Reconnected?.Invoke();
        }
    }

    private async Task PublishLoopAsync(CancellationToken stopping)
    {
        var pending = new List<Task>(256);
        var reader = _outbox.Reader;
        var includeTopic = _channels.TopicInPayload;
        try
        {
            while (await reader.WaitToReadAsync(stopping))
            {
                try
                {
                    // Pipelined: every queued event is written before the first reply is awaited, in id order.
                    while (pending.Count < 256 && reader.TryRead(out var item))
                    {
                        pending.Add(_subscriber!.PublishAsync(_channels.PublishChannelFor(item.Topic), RedisProtocol.Encode(item, NodeId, includeTopic)));
                    }

                    await Task.WhenAll(pending);
                }
                catch (RedisException ex)
                {
                    BackplaneLog.PublishFailed(_logger, LogValue.Sanitize(ex.Message));
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested)
                {
                    // What was taken from the outbox is not retried: durable events reach other nodes through the store.
                    BackplaneLog.PublishFault(_logger, pending.Count, ex);
                    _metrics.LoopFault("redis_publish");
                }

                pending.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReceiveLoopAsync(ChannelMessageQueue queue, CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var message = await queue.ReadAsync(stopping);
                try
                {
                    Receive(message);
                }
                catch (Exception ex)
                {
                    BackplaneLog.ReceiveFault(_logger, LogValue.Sanitize(message.Channel.ToString()), ex);
                    _metrics.LoopFault("redis_receive");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ChannelClosedException)
        {
            // The multiplexer is being disposed.
        }
    }

    private void Receive(ChannelMessage message)
    {
        var topic = _channels.TopicInPayload ? null : _channels.TopicFor(message.Channel.ToString());
        if ((topic is null && !_channels.TopicInPayload)
            || !RedisProtocol.TryDecode(topic, (ReadOnlyMemory<byte>)message.Message, out var item, out var node))
        {
            BackplaneLog.ForeignMessage(_logger, LogValue.Sanitize(message.Channel.ToString()));
            return;
        }

        if (!item!.IsDurable && node == NodeId)
        {
            return; // our own ephemeral event, already delivered locally
        }

        _dispatcher.Deliver(item);
    }
}
