using System.Diagnostics.Metrics;
using System.Text;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Hosting;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Server.Topics;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Server.Tests.Backplane;

/// <summary>
/// The contract every <see cref="IEventBus"/> keeps, as <c>StoreContractTests</c> is for stores and SignalR's
/// <c>ScaleoutHubLifetimeManagerTests</c> for its backplanes: a node's committed events reach its own subscribers
/// once and in id order, ephemeral ones once, and <c>Publish</c> never waits on the network. Each test builds its
/// nodes as the server does — a <see cref="TopicRegistry"/>, an <see cref="EventDispatcher"/> over one shared store,
/// and the bus under test — and publishes what a writer would: batches of committed events.
/// </summary>
public abstract class BusContractTests : IAsyncLifetime
{
    private const string Topic = "contract";
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-bus-").FullName;
    private readonly List<BusNode> _nodes = [];

    /// <summary>The store every node shares, as the nodes of one deployment share PostgreSQL.</summary>
    protected SqlStore Store { get; private set; } = null!;

    /// <summary>What <see cref="IEventBus.State"/> says once the bus is up.</summary>
    protected abstract string ConnectedState { get; }

    /// <summary>Creates and starts the bus of one node, delivering into <paramref name="dispatcher"/>.</summary>
    protected abstract Task<IEventBus> StartBusAsync(EventDispatcher dispatcher, HeraldMetrics metrics);

    /// <summary>Stops a bus made by <see cref="StartBusAsync"/>.</summary>
    protected abstract Task StopBusAsync(IEventBus bus);

    public virtual async Task InitializeAsync()
    {
        Store = new SqliteStore(Path.Combine(_directory, "herald.db"));
        await Store.MigrateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await StopBusAsync(node.Bus);
            node.Dispose();
        }

        await Store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Publish_CommittedBatches_ReachTheLocalSubscriberOnceInIdOrder()
    {
        var node = await StartNodeAsync();
        List<long> published = [];
        for (var batch = 0; batch < 10; batch++)
        {
            var events = await CommitAsync(20);
            node.Bus.Publish(events);
            published.AddRange(events.Select(e => e.Id));
        }

        Assert.Equal(published, await node.ReceiveAsync(published.Count));
    }

    [Fact]
    public async Task Publish_Ephemeral_ReachesTheLocalSubscriber()
    {
        var node = await StartNodeAsync();
        node.Bus.Publish([Ephemeral("typing")]);
        var received = await node.ReceiveEventsAsync(1);
        Assert.Equal(["typing"], received.Select(e => e.Type));
        Assert.False(received[0].IsDurable);
    }

    [Fact]
    public async Task State_OnceStarted_ReportsTheBackplane()
    {
        var node = await StartNodeAsync();
        await Poll.UntilAsync(() => node.Bus.State == ConnectedState);
    }

    [Fact]
    public async Task Publish_TopicWithNoSubscriberOnTheNode_IsDroppedWithoutHoldingBackLaterEvents()
    {
        var node = await StartNodeAsync();
        var elsewhere = await Store.CommitBatchAsync([new PublishEventCommand("nobody-listens", "message", "1"u8.ToArray())], [], CancellationToken.None);
        node.Bus.Publish(elsewhere);
        var mine = await CommitAsync(3);
        node.Bus.Publish(mine);
        Assert.Equal(mine.Select(e => e.Id), await node.ReceiveAsync(3));
    }

    /// <summary>Starts a node whose one subscriber listens to the contract topic.</summary>
    protected async Task<BusNode> StartNodeAsync()
    {
        var registry = new TopicRegistry();
        var subscriber = new Subscriber("contract", [Topic], 100_000, 1 << 26);
        registry.Add(subscriber);
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new HeraldMetrics(services.GetRequiredService<IMeterFactory>());
        var dispatcher = new EventDispatcher(registry, Store, metrics, NullLogger<EventDispatcher>.Instance);
        await dispatcher.InitializeAsync(CancellationToken.None);
        var node = new BusNode(await StartBusAsync(dispatcher, metrics), dispatcher, subscriber, services);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Commits <paramref name="count"/> events on the contract topic, as the writer does before it publishes.</summary>
    protected async Task<IReadOnlyList<HubEvent>> CommitAsync(int count)
    {
        var commands = Enumerable.Range(0, count)
            .Select(i => (WriteCommand)new PublishEventCommand(Topic, "message", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"))).ToList();
        return await Store.CommitBatchAsync(commands, [], CancellationToken.None);
    }

    protected static HubEvent Ephemeral(string type) => new(0, Topic, type, "{}"u8.ToArray(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    protected static HeraldOptions Options(Action<HeraldOptions> configure)
    {
        var options = new HeraldOptions();
        configure(options);
        return options;
    }

    /// <summary>One node: its bus, its dispatcher, and a subscriber of the contract topic.</summary>
    protected sealed class BusNode(IEventBus bus, EventDispatcher dispatcher, Subscriber subscriber, ServiceProvider services) : IDisposable
    {
        private readonly HubEvent?[] _buffer = new HubEvent?[4096];
        private readonly List<HubEvent> _received = [];

        public IEventBus Bus { get; } = bus;

        public EventDispatcher Dispatcher { get; } = dispatcher;

        /// <summary>Everything the subscriber has received so far.</summary>
        public IReadOnlyList<HubEvent> Received => _received;

        /// <summary>Waits until the subscriber has received <paramref name="count"/> events in all; their ids.</summary>
        public async Task<List<long>> ReceiveAsync(int count) => (await ReceiveEventsAsync(count)).Select(e => e.Id).ToList();

        public async Task<List<HubEvent>> ReceiveEventsAsync(int count)
        {
            Assert.True(await TryReceiveUntilAsync(() => _received.Count >= count, TimeSpan.FromSeconds(15)), $"{_received.Count} of {count} events arrived");
            return [.. _received];
        }

        /// <summary>Waits until <paramref name="count"/> durable events have arrived in all; their ids (ephemeral ones left out).</summary>
        public async Task<List<long>> ReceiveDurableAsync(int count)
        {
            Assert.True(await TryReceiveUntilAsync(() => _received.Count(e => e.IsDurable) >= count, TimeSpan.FromSeconds(15)), $"fewer than {count} durable events arrived");
            return [.. _received.Where(e => e.IsDurable).Select(e => e.Id)];
        }

        /// <summary>Waits up to <paramref name="timeout"/> for an event that matches; false when none came.</summary>
        public Task<bool> WaitForAsync(Func<HubEvent, bool> match, TimeSpan timeout) => TryReceiveUntilAsync(() => _received.Any(match), timeout);

        private async Task<bool> TryReceiveUntilAsync(Func<bool> done, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (!done())
            {
                try
                {
                    Assert.True(await subscriber.WaitToReadAsync().AsTask().WaitAsync(cts.Token), $"subscriber closed: {subscriber.CloseReason}");
                }
                catch (OperationCanceledException)
                {
                    return false;
                }

                var n = subscriber.Drain(_buffer);
                _received.AddRange(_buffer.Take(n).Select(e => e!));
            }

            return true;
        }

        public void Dispose()
        {
            Dispatcher.Dispose();
            services.Dispose();
        }
    }
}
