using System.Text.Json;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Herald.Server.Mercure;

/// <summary>
/// Mercure's active subscriptions (<c>Herald:Mercure:Subscriptions</c>): this node's, shared with the others through the
/// <see cref="IMercureSubscriptionStore"/>, and the subscription events: a private update on each subscription's id when
/// it starts (<c>active: true</c>) and ends (<c>active: false</c>), stored and fanned out like any update, so it is sent
/// once whatever the number of nodes and a subscriber resumes through it with <c>Last-Event-ID</c>.
/// </summary>
/// <remarks>
/// A connection's end is announced by the node that removes its subscriptions from the store: its own node as the
/// stream closes, or, when that node died, the first surviving node to claim them once its liveness has expired
/// (within <c>Herald:Presence:Ttl</c> and one <c>Interval</c>). So every start has exactly one end, kill -9 included.
/// </remarks>
public sealed class MercureSubscriptions : BackgroundService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (MercureSubscription Subscription, string Json)> _local = new(StringComparer.Ordinal);
    private readonly IMercureSubscriptionStore _store;
    private readonly EventHub _hub;
    private readonly HeraldMetrics _metrics;
    private readonly ILogger<MercureSubscriptions> _logger;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _pending = [];

    public MercureSubscriptions(IMercureSubscriptionStore store, EventHub hub, HeraldMetrics metrics, IOptions<HeraldOptions> options, ILogger<MercureSubscriptions> logger)
    {
        _store = store;
        _hub = hub;
        _metrics = metrics;
        _logger = logger;
        _interval = options.Value.Presence.Interval;
        Enabled = options.Value.Mercure.Enabled && options.Value.Mercure.Subscriptions;
    }

    /// <summary>Whether the feature is on (<c>Herald:Mercure:Enabled</c> and <c>Subscriptions</c>).</summary>
    public bool Enabled { get; }

    /// <summary>
    /// A connection starts: one subscription per distinct selector, under a subscriber id the hub makes up
    /// (<c>urn:uuid:…</c>, never taken from the request: the draft forbids clients to choose it), each announced.
    /// </summary>
    public Connection Open(string hubPath, IReadOnlyList<TopicSelector> selectors, JsonElement? payload)
    {
        var subscriber = "urn:uuid:" + Guid.NewGuid().ToString("D");
        List<MercureSubscription> subscriptions = [.. selectors.Select(s => s.Pattern).Distinct(StringComparer.Ordinal)
            .Select(topic => new MercureSubscription(MercureSubscription.IdOf(hubPath, topic, subscriber), subscriber, topic, true, payload))];
        lock (_gate)
        {
            foreach (var subscription in subscriptions)
            {
                var json = subscription.ToJson();
                _local[subscription.Id] = (subscription, json);
                _ = _store.AddAsync(subscription.Id, json);
            }
        }

        return new Connection(subscriptions, Track(AnnounceAsync(subscriptions)));
    }

    /// <summary>The connection ended: its subscriptions leave the list, and their end is announced (after their start).</summary>
    public void Close(Connection connection) => Track(CloseAsync(connection));

    /// <summary>Every active subscription of every live node, this node's first.</summary>
    /// <exception cref="BackplaneUnavailableException">The other nodes' cannot be read.</exception>
    public async Task<List<MercureSubscription>> ListAsync(CancellationToken cancellationToken)
    {
        List<MercureSubscription> all;
        lock (_gate)
        {
            all = [.. _local.Values.Select(v => v.Subscription)];
        }

        foreach (var document in await _store.ReadOthersAsync(cancellationToken))
        {
            if (MercureSubscription.Parse(document) is { } subscription)
            {
                all.Add(subscription);
            }
        }

        return all;
    }

    /// <summary>
    /// At shutdown the drain closes every stream: their ends are announced from here while the writer still runs (this
    /// service stops before it, and before the Redis services: see HeraldApp), until none is left or the host's stop
    /// budget is spent. What is left then is claimed by another node once this one's liveness is gone.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    Task[] pending;
                    bool open;
                    lock (_gate)
                    {
                        pending = [.. _pending];
                        open = _local.Count > 0;
                    }

                    if (pending.Length == 0 && !open)
                    {
                        break;
                    }

                    await timer.WaitForNextTickAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _stopping.CancelAsync();
        await base.StopAsync(cancellationToken);
    }

    private Task Track(Task task)
    {
        lock (_gate)
        {
            _pending.Add(task);
        }

        _ = task.ContinueWith((t, s) =>
        {
            var self = (MercureSubscriptions)s!;
            lock (self._gate)
            {
                self._pending.Remove(t);
            }
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Task refresh;
                    lock (_gate)
                    {
                        refresh = _store.RefreshAsync(() => [.. _local.Select(e => KeyValuePair.Create(e.Key, e.Value.Json))], stoppingToken);
                    }

                    await refresh;
                    var claimed = await _store.ClaimDeadAsync(stoppingToken);
                    if (claimed.Count > 0)
                    {
                        MercureLog.SubscriptionsClaimed(_logger, claimed.Count);
                        await AnnounceAsync([.. claimed.Select(MercureSubscription.Parse).OfType<MercureSubscription>().Select(s => s.WithActive(false))]);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Redis away (the claim runs again next time: nothing was taken) or a store failure.
                    MercureLog.SubscriptionsLoopFault(_logger, ex);
                    _metrics.LoopFault("mercure_subscriptions");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CloseAsync(Connection connection)
    {
        List<Task<bool>> removals;
        lock (_gate)
        {
            removals = [.. connection.Subscriptions.Select(s =>
            {
                _local.Remove(s.Id);
                return _store.RemoveAsync(s.Id);
            })];
        }

        var removed = await Task.WhenAll(removals);
        // The end after the start, even for a stream that closed before its start was stored.
        await connection.Announced;
        await AnnounceAsync([.. connection.Subscriptions.Where((_, i) => removed[i]).Select(s => s.WithActive(false))]);
    }

    // One stored, private update per subscription, on its id, in order; a failure is logged, never thrown (the stream
    // that opened or closed must not fail for it).
    private async Task AnnounceAsync(IReadOnlyList<MercureSubscription> subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            try
            {
                var payload = MercureUpdate.Encode([subscription.Id], subscription.ToJson(), isPrivate: true, type: null, retry: null, customId: null);
                await _hub.ExecuteAsync(new PublishUpdateCommand(payload, 0), _stopping.Token);
            }
            catch (Exception ex)
            {
                MercureLog.SubscriptionEventFailed(_logger, subscription.Active, ex);
            }
        }
    }

    /// <summary>One connection's subscriptions, and the task that announces their start.</summary>
    public sealed record Connection(IReadOnlyList<MercureSubscription> Subscriptions, Task Announced);
}
