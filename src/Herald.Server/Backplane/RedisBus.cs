using System.Threading.Channels;
using Herald.Protocol.Diagnostics;
using Herald.Redis;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Microsoft.Extensions.Options;

namespace Herald.Server.Backplane;

/// <summary>
/// The Redis backplane: every event published on a node goes to Redis once and reaches subscribers on every
/// node exactly once, including the node that published it.
/// </summary>
/// <remarks>
/// <para>The publishing node delivers its own events directly (no round trip through Redis for local
/// subscribers, and local delivery goes on while Redis is down) and publishes them; every node, the publisher
/// included, receives them back from Redis, where the <see cref="EventDispatcher"/> drops the copy it already has by id.
/// Ephemeral events have no id, so a node skips its own by the <c>herald_node</c> field instead.</para>
/// <para>Redis pub/sub is fire-and-forget: a message published while a node is disconnected never reaches it.
/// Nothing durable depends on it: the <see cref="StoreWatcher"/> notices the store's head moving past what the node
/// has delivered and catches up from the store — after a reconnect at once, during an outage continuously.</para>
/// <para>Neither loop ends before the node stops: a message or a batch that fails is logged and counted
/// (<c>herald_loop_faults_total{loop="redis_receive"}</c>, <c>{loop="redis_publish"}</c>) and the loop goes on with the
/// next. A dead receive loop would leave the node deaf to ephemeral events and a store poll behind for durable ones.</para>
/// </remarks>
public sealed class RedisBus : IEventBus, IHostedService, IAsyncDisposable
{
    private readonly EventDispatcher _dispatcher;
    private readonly RedisChannels _channels;
    private readonly RedisClientOptions _clientOptions;
    private readonly ILogger<RedisBus> _logger;
    private readonly HeraldMetrics _metrics;
    private readonly Channel<HubEvent> _outbox = Channel.CreateBounded<HubEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private RedisConnection? _publisher;
    private RedisSubscriber? _subscriber;
    private Task _run = Task.CompletedTask;

    public RedisBus(EventDispatcher dispatcher, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RedisBus> logger)
    {
        _dispatcher = dispatcher;
        _metrics = metrics;
        _logger = logger;
        var redis = options.Value.Redis;
        _channels = new RedisChannels(redis.ChannelPrefix);
        NodeId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        _clientOptions = new RedisClientOptions
        {
            Endpoint = RedisEndpoint.Parse(redis.Url!),
            ClientName = "herald-" + NodeId,
            Logger = logger,
        };
    }

    /// <summary>Identifies this node's messages on the backplane.</summary>
    public string NodeId { get; }

    public string State => _publisher is { IsConnected: true } && _subscriber is { IsConnected: true } ? "connected" : "disconnected";

    public long ReconnectCount => (_publisher?.ReconnectCount ?? 0) + (_subscriber?.ReconnectCount ?? 0);

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
        if (_subscriber is not null)
        {
            await _subscriber.DisposeAsync();
        }

        if (_publisher is not null)
        {
            await _publisher.DisposeAsync();
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        // The node serves even when Redis is down at start: it reports "disconnected" and keeps trying.
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stopping.IsCancellationRequested && (_publisher is null || _subscriber is null))
        {
            try
            {
                _publisher ??= await RedisConnection.ConnectAsync(_clientOptions, stopping);
                _subscriber ??= await RedisSubscriber.ConnectAsync(_clientOptions, stopping);
            }
            catch (Exception ex) when (ex is RedisException or IOException or System.Net.Sockets.SocketException or TimeoutException)
            {
                BackplaneLog.RedisUnreachable(_logger, _clientOptions.Endpoint.ToString(), LogValue.Sanitize(ex.Message), delay.TotalMilliseconds);
                await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
            }
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        _subscriber!.Reconnected += (_, _) => Reconnected?.Invoke();
        foreach (var pattern in _channels.Patterns)
        {
            try
            {
                await _subscriber.PSubscribeAsync(pattern);
            }
            catch (RedisConnectionException ex)
            {
                // Lost between connecting and subscribing: the subscriber keeps the pattern and makes it on reconnect,
                // then raises Reconnected (a catch-up). Letting this escape would end the loops below before they began.
                BackplaneLog.SubscribeDeferred(_logger, pattern, ex.Message);
            }
        }

        BackplaneLog.RedisConnected(_logger, _clientOptions.Endpoint.ToString(), NodeId);
        Reconnected?.Invoke();
        await Task.WhenAll(PublishLoopAsync(stopping), ReceiveLoopAsync(stopping));
    }

    private async Task PublishLoopAsync(CancellationToken stopping)
    {
        var pending = new List<Task>(256);
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stopping))
            {
                try
                {
                    // Pipelined: every queued event is written before the first reply is awaited, in id order.
                    while (pending.Count < 256 && reader.TryRead(out var item))
                    {
                        pending.Add(_publisher!.PublishAsync(_channels.ChannelFor(item.Topic), RedisProtocol.Encode(item, NodeId)));
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

    private async Task ReceiveLoopAsync(CancellationToken stopping)
    {
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
                    BackplaneLog.ReceiveFault(_logger, LogValue.Sanitize(message.Channel), ex);
                    _metrics.LoopFault("redis_receive");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Receive(RedisMessage message)
    {
        var topic = _channels.TopicFor(message.Channel);
        if (topic is null || !RedisProtocol.TryDecode(topic, message.Payload, out var item, out var node))
        {
            BackplaneLog.ForeignMessage(_logger, LogValue.Sanitize(message.Channel));
            return;
        }

        if (!item!.IsDurable && node == NodeId)
        {
            return; // our own ephemeral event, already delivered locally
        }

        _dispatcher.Deliver(item);
    }
}
