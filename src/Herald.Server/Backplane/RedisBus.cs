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
/// </remarks>
public sealed class RedisBus : IEventBus, IHostedService, IAsyncDisposable
{
    private readonly EventDispatcher _dispatcher;
    private readonly RedisChannels _channels;
    private readonly RedisClientOptions _clientOptions;
    private readonly ILogger<RedisBus> _logger;
    private readonly Channel<HubEvent> _outbox = Channel.CreateBounded<HubEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private RedisConnection? _publisher;
    private RedisSubscriber? _subscriber;
    private Task _run = Task.CompletedTask;

    public RedisBus(EventDispatcher dispatcher, IOptions<HeraldOptions> options, ILogger<RedisBus> logger)
    {
        _dispatcher = dispatcher;
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
                _logger.LogWarning("Backplane outbox full; event {Id} on {Topic} not published to Redis", item.Id, item.Topic);
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
                _logger.LogWarning("Redis at {Endpoint} unreachable ({Error}); retrying in {Delay} ms", _clientOptions.Endpoint, LogValue.Sanitize(ex.Message), delay.TotalMilliseconds);
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
            await _subscriber.PSubscribeAsync(pattern);
        }

        _logger.LogInformation("Redis backplane connected to {Endpoint} as node {Node}", _clientOptions.Endpoint, NodeId);
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
                // Pipelined: every queued event is written before the first reply is awaited, in id order.
                while (pending.Count < 256 && reader.TryRead(out var item))
                {
                    pending.Add(_publisher!.PublishAsync(_channels.ChannelFor(item.Topic), RedisProtocol.Encode(item, NodeId)));
                }

                try
                {
                    await Task.WhenAll(pending);
                }
                catch (RedisException ex)
                {
                    _logger.LogDebug("Publishing to Redis failed ({Error}); other nodes catch up from the store", LogValue.Sanitize(ex.Message));
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
                var topic = _channels.TopicFor(message.Channel);
                if (topic is null || !RedisProtocol.TryDecode(topic, message.Payload, out var item, out var node))
                {
                    _logger.LogWarning("Ignoring a message on {Channel} that is not in Herald's backplane format", LogValue.Sanitize(message.Channel));
                    continue;
                }

                if (!item!.IsDurable && node == NodeId)
                {
                    continue; // our own ephemeral event, already delivered locally
                }

                _dispatcher.Deliver(item);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
