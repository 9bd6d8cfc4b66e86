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
/// <para>With <c>Herald:Redis:Subscribe=interest</c> (<see cref="RedisChannels.Interest"/>) the node subscribes only to the
/// marker channel and, through the interest loop, to the channel of each topic its dispatcher wants (a SUBSCRIBE in
/// classic mode, an SSUBSCRIBE of the topic's shard, counted per shard, in sharded mode), and unsubscribes
/// <c>Herald:Redis:InterestLinger</c> after the topic's last subscriber left. After each batch of events it publishes
/// their commit marker. Correctness never waits on a SUBSCRIBE: the dispatcher reads from the store what a channel
/// subscribed too late did not bring (docs/scaling.md, "How a node knows it has every event").</para>
/// </remarks>
public sealed class RedisBus : IEventBus, IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    // A marker goes out once this many ids are gathered even before MarkerInterval has passed (bounds its size).
    private const int MaxUnmarked = 4096;

    private readonly IEventSink _dispatcher;
    private readonly RedisChannels _channels;
    private readonly ConfigurationOptions _configuration;
    private readonly string _endpoint;
    private readonly ILogger<RedisBus> _logger;
    private readonly HeraldMetrics _metrics;
    private readonly Channel<HubEvent> _outbox = Channel.CreateBounded<HubEvent>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly TimeSpan _markerInterval;
    private ConnectionMultiplexer? _redis;
    private ISubscriber? _subscriber;
    private readonly Channel<string> _interestChanges = Channel.CreateUnbounded<string>(); // not SingleReader: that one cannot count, and the loop asks whether it has caught up
    private readonly TimeSpan _linger;
    // Completed once the topics wanted at start are subscribed: "connected" then means their events cross.
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _interestReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _subscribed;
    private long _reconnects;
    private Task _run = Task.CompletedTask;

    public RedisBus(IEventSink dispatcher, RedisChannels channels, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<RedisBus> logger, TimeProvider time)
    {
        _dispatcher = dispatcher;
        _time = time;
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
        _linger = redis.InterestLinger;
        _markerInterval = redis.MarkerInterval;
    }

    /// <summary>Test hook: drops every commit marker instead of publishing it (a marker lost on the way).</summary>
    internal bool DropMarkers { get; set; }

    /// <summary>Test hook: while set, the publish loop waits before each round (a node whose publishes arrive late).</summary>
    internal Task? PublishHold { get; set; }

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
        foreach (var channel in _channels.Interest ? [_channels.MarkerChannel] : _channels.Subscriptions)
        {
            queues.Add(await SubscribeAsync(channel, stopping));
        }

        if (stopping.IsCancellationRequested)
        {
            return;
        }

        List<Task> loops = [PublishLoopAsync(stopping), .. queues.Select(q => ReceiveLoopAsync(q, stopping))];
        if (_channels.Interest)
        {
            // Subscribed before the topics are listed: a topic that gains its first subscriber in between is in both, and
            // the interest loop takes a topic twice without harm.
            _dispatcher.InterestChanged += OnInterestChanged;
            foreach (var topic in _dispatcher.Interests)
            {
                OnInterestChanged(topic);
            }

            loops.Add(InterestLoopAsync(stopping));
            await _interestReady.Task.WaitAsync(stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _subscribed = true;
        BackplaneLog.RedisConnected(_logger, _endpoint, NodeId);
        Reconnected?.Invoke();
        await Task.WhenAll(loops);
    }

    private void OnInterestChanged(string topic) => _interestChanges.Writer.TryWrite(topic);

    private void LookAgainAfter(string topic, TimeSpan delay, CancellationToken stopping) =>
        _ = Task.Delay(delay, stopping).ContinueWith(_ => OnInterestChanged(topic), CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

    /// <summary>
    /// Keeps the node's topic subscriptions in line with what its dispatcher wants, one change at a time: a wanted topic's
    /// channel is subscribed (once per channel: sharded mode counts the wanted topics of each shard), a topic no longer
    /// wanted stays subscribed for the linger and is then let go. Each change is checked against the dispatcher when it is
    /// taken, so changes that crossed each other end in the current state.
    /// </summary>
    private async Task InterestLoopAsync(CancellationToken stopping)
    {
        var topics = new Dictionary<string, RedisChannel>(StringComparer.Ordinal);
        var channels = new Dictionary<RedisChannel, (int Topics, ChannelMessageQueue Queue)>();
        var lingering = new Dictionary<string, long>(StringComparer.Ordinal);
        var receivers = new List<Task>();
        try
        {
            if (_interestChanges.Reader.Count == 0)
            {
                _interestReady.TrySetResult();
            }

            await foreach (var topic in _interestChanges.Reader.ReadAllAsync(stopping))
            {
                try
                {
                    if (_dispatcher.Wants(topic))
                    {
                        lingering.Remove(topic);
                        if (topics.ContainsKey(topic))
                        {
                            continue;
                        }

                        var channel = _channels.PublishChannelFor(topic);
                        if (channels.TryGetValue(channel, out var held))
                        {
                            channels[channel] = (held.Topics + 1, held.Queue);
                        }
                        else
                        {
                            var queue = await SubscribeAsync(channel, stopping);
                            channels[channel] = (1, queue);
                            receivers.Add(ReceiveLoopAsync(queue, stopping));
                            receivers.RemoveAll(t => t.IsCompleted);
                        }

                        topics[topic] = channel;
                        continue;
                    }

                    if (!topics.TryGetValue(topic, out var subscribed))
                    {
                        continue;
                    }

                    var now = Environment.TickCount64;
                    if (!lingering.TryGetValue(topic, out var until))
                    {
                        if (_linger > TimeSpan.Zero)
                        {
                            lingering[topic] = now + (long)_linger.TotalMilliseconds;
                            LookAgainAfter(topic, _linger, stopping);
                            continue;
                        }
                    }
                    else if (until > now)
                    {
                        // Still lingering (a timer that fired a tick early, or a spurious change): look again when it ends.
                        LookAgainAfter(topic, TimeSpan.FromMilliseconds(until - now), stopping);
                        continue;
                    }

                    lingering.Remove(topic);
                    topics.Remove(topic);
                    var entry = channels[subscribed];
                    if (entry.Topics > 1)
                    {
                        channels[subscribed] = (entry.Topics - 1, entry.Queue);
                        continue;
                    }

                    channels.Remove(subscribed);
                    // Drops the queue at once (completing it ends its receive loop) and sends the UNSUBSCRIBE without waiting:
                    // a reply that never comes (Redis down) must not leave the queue registered, or a later SUBSCRIBE would
                    // add a second one.
                    entry.Queue.Unsubscribe(CommandFlags.FireAndForget);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The topic is looked at again at its next change; its events meanwhile come from the store.
                    BackplaneLog.InterestFault(_logger, LogValue.Sanitize(topic), ex);
                    _metrics.LoopFault("redis_interest");
                }
                finally
                {
                    if (_interestChanges.Reader.Count == 0)
                    {
                        _interestReady.TrySetResult();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(receivers);
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
        // Committed events whose marker has not gone out yet (interest mode): gathered for up to MarkerInterval.
        var unmarked = new List<HubEvent>(256);
        long markerDue = 0;
        var reader = _outbox.Reader;
        var includeTopic = _channels.TopicInPayload;
        try
        {
            while (true)
            {
                // Everything in a round is inside the try: whatever goes wrong is logged and counted, and the loop goes
                // on — a publish loop that ended would leave the node delivering but never publishing again.
                try
                {
                    if (unmarked.Count == 0)
                    {
                        if (!await reader.WaitToReadAsync(stopping))
                        {
                            break;
                        }
                    }
                    else if (!reader.TryPeek(out _))
                    {
                        // Markers are waiting: more events, or their deadline, whichever comes first. The clock is read
                        // once: a check and a second reading can straddle the deadline (a thread preempted between
                        // them computed a negative delay, which Task.Delay refuses).
                        var wait = -_time.GetElapsedTime(markerDue);
                        if (wait > TimeSpan.Zero)
                        {
                            var more = reader.WaitToReadAsync(stopping).AsTask();
                            if (await Task.WhenAny(more, Task.Delay(wait, _time, stopping)) == more && !await more)
                            {
                                break;
                            }
                        }
                    }

                    if (PublishHold is { } hold)
                    {
                        await hold.WaitAsync(stopping);
                    }

                    // Pipelined: every queued event is written before the first reply is awaited, in id order.
                    while (pending.Count < 256 && reader.TryRead(out var item))
                    {
                        pending.Add(_subscriber!.PublishAsync(_channels.PublishChannelFor(item.Topic), RedisProtocol.Encode(item, NodeId, includeTopic)));
                        if (_channels.Interest && item.IsDurable)
                        {
                            if (unmarked.Count == 0)
                            {
                                markerDue = _time.GetTimestamp() + (long)(_markerInterval.TotalSeconds * _time.TimestampFrequency);
                            }

                            unmarked.Add(item);
                        }
                    }

                    // After the events: a node that wants one of them and sees the marker first waits the reorder window for it.
                    if (unmarked.Count > 0 && (unmarked.Count >= MaxUnmarked || _time.GetElapsedTime(markerDue) >= TimeSpan.Zero))
                    {
                        PublishMarkers(unmarked, pending);
                        unmarked.Clear();
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

        // Stopping: what is gathered still goes out (the other nodes would otherwise wait the reorder window for it and
        // read it from the store), bounded so that a Redis that is gone does not hold the node's stop.
        if (unmarked.Count > 0 && _subscriber is not null)
        {
            pending.Clear();
            PublishMarkers(unmarked, pending);
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    // One Redis message for everything gathered: a marker per run of consecutive ids (a commit batch is one run; the
    // batches of other nodes in between split the runs), back to back in one payload.
    private void PublishMarkers(List<HubEvent> committed, List<Task> pending)
    {
        if (DropMarkers)
        {
            return;
        }

        pending.Add(_subscriber!.PublishAsync(_channels.MarkerChannel, RedisProtocol.EncodeMarkers(committed)));
        _metrics.BackplaneMarkersPublished.Add(1);
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
        if (_channels.Interest && message.Channel == _channels.MarkerChannel)
        {
            ReceiveMarker(message);
            return;
        }

        _metrics.BackplaneEventsReceived.Add(1);
        var topic = _channels.TopicInPayload ? null : _channels.TopicFor(message.Channel.ToString());
        if (_channels.Interest && !_dispatcher.Wants(topic ?? RedisProtocol.PeekTopic(((ReadOnlyMemory<byte>)message.Message).Span) ?? ""))
        {
            // A lingering channel, or another topic of a wanted one's shard: nobody here takes it (its marker covers the id).
            return;
        }

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

    private void ReceiveMarker(ChannelMessage message)
    {
        _metrics.BackplaneMarkersReceived.Add(1);
        if (!RedisProtocol.TryDecodeMarkers((ReadOnlyMemory<byte>)message.Message, out var runs))
        {
            BackplaneLog.ForeignMessage(_logger, LogValue.Sanitize(message.Channel.ToString()));
            return;
        }

        foreach (var (firstId, topics) in runs!)
        {
            _dispatcher.Cover(firstId, topics);
        }
    }
}
