using System.Text;
using Herald.Protocol;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Server.Tests;

public sealed class SubscriberTests
{
    private static HubEvent Event(long id, string topic = "t", int size = 10) =>
        new(id, topic, "message", Encoding.UTF8.GetBytes("\"" + new string('x', size) + "\""), 0);

    [Fact]
    public async Task Enqueue_ThenWait_DrainsInOrder()
    {
        var s = new Subscriber("test", ["t"], 100, 1 << 20);
        for (var i = 1; i <= 20; i++)
        {
            Assert.True(s.TryEnqueue(Event(i)));
        }

        Assert.True(await s.WaitToReadAsync());
        var buffer = new HubEvent?[64];
        Assert.Equal(20, s.Drain(buffer));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), buffer.Take(20).Select(e => e!.Id));
    }

    [Fact]
    public async Task Wait_IsWokenByEnqueueFromAnotherThread()
    {
        var s = new Subscriber("test", ["t"], 100, 1 << 20);
        var waiting = s.WaitToReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        await Task.Run(() => s.TryEnqueue(Event(1)));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Overflow_ByCount_ClosesAsSlowConsumerAndFreesTheQueue()
    {
        var s = new Subscriber("test", ["t"], 3, 1 << 20);
        Assert.True(s.TryEnqueue(Event(1)));
        Assert.True(s.TryEnqueue(Event(2)));
        Assert.True(s.TryEnqueue(Event(3)));
        Assert.False(s.TryEnqueue(Event(4)));
        Assert.Equal(Disconnect.SlowConsumer, s.CloseReason);
        Assert.False(await s.WaitToReadAsync());
        Assert.False(s.TryEnqueue(Event(5)));
    }

    [Fact]
    public void Overflow_ByBytes_ClosesAsSlowConsumer()
    {
        var s = new Subscriber("test", ["t"], 1000, 100);
        Assert.True(s.TryEnqueue(Event(1, size: 40)));
        Assert.False(s.TryEnqueue(Event(2, size: 80)));
        Assert.Equal(Disconnect.SlowConsumer, s.CloseReason);
    }

    [Fact]
    public async Task Close_WithDrain_KeepsQueuedEventsForTheWriter()
    {
        var s = new Subscriber("test", ["t"], 10, 1 << 20);
        s.TryEnqueue(Event(1));
        s.Close(Disconnect.ShuttingDown, drain: true);
        Assert.True(await s.WaitToReadAsync());
        Assert.Equal(1, s.Drain(new HubEvent?[4]));
        Assert.False(await s.WaitToReadAsync());
    }

    [Fact]
    public async Task Close_WakesAWaitingWriter()
    {
        var s = new Subscriber("test", ["t"], 10, 1 << 20);
        var waiting = s.WaitToReadAsync().AsTask();
        s.Close(Disconnect.ClientClosed);
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}

public sealed class TopicRegistryTests
{
    [Fact]
    public void Publish_ReachesOnlySubscribersOfTheTopic()
    {
        var registry = new TopicRegistry();
        var a = new Subscriber("test", ["a"], 10, 1 << 20);
        var ab = new Subscriber("test", ["a", "b"], 10, 1 << 20);
        var c = new Subscriber("test", ["c"], 10, 1 << 20);
        registry.Add(a);
        registry.Add(ab);
        registry.Add(c);

        Assert.Equal(2, registry.Publish(new HubEvent(1, "a", "message", "1"u8.ToArray(), 0)));
        Assert.Equal(1, registry.Publish(new HubEvent(2, "b", "message", "1"u8.ToArray(), 0)));
        Assert.Equal(0, registry.Publish(new HubEvent(3, "z", "message", "1"u8.ToArray(), 0)));

        registry.Remove(ab);
        Assert.Equal(1, registry.Publish(new HubEvent(4, "a", "message", "1"u8.ToArray(), 0)));
        Assert.False(registry.HasSubscribers("b"));
        Assert.Equal(2, registry.TopicCount);
    }

    [Fact]
    public async Task AddRemove_Concurrently_LosesNoSubscriber()
    {
        var registry = new TopicRegistry();
        var keep = Enumerable.Range(0, 200).Select(_ => new Subscriber("test", ["hot"], 10, 1 << 20)).ToList();
        var churn = Enumerable.Range(0, 200).Select(_ => new Subscriber("test", ["hot"], 10, 1 << 20)).ToList();
        await Task.WhenAll(
            Task.Run(() => keep.ForEach(registry.Add)),
            Task.Run(() =>
            {
                foreach (var s in churn)
                {
                    registry.Add(s);
                    registry.Remove(s);
                }
            }));
        Assert.Equal(200, registry.Publish(new HubEvent(1, "hot", "message", "1"u8.ToArray(), 0)));
    }
}

public sealed class EventDispatcherTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-dispatch-").FullName;
    private SqliteStore _store = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(Path.Combine(_directory, "herald.db"));
        await _store.MigrateAsync();
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        await _services.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private (EventDispatcher Dispatcher, Subscriber Subscriber) Create(TimeSpan reorderWindow)
    {
        var registry = new TopicRegistry();
        var subscriber = new Subscriber("test", ["t"], 10_000, 1 << 24);
        registry.Add(subscriber);
        var metrics = new HeraldMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        return (new EventDispatcher(registry, _store, metrics, NullLogger<EventDispatcher>.Instance, reorderWindow), subscriber);
    }

    private async Task<IReadOnlyList<HubEvent>> StoreAsync(int count)
    {
        var commands = Enumerable.Range(0, count).Select(i => (WriteCommand)new PublishEventCommand("t", "message", Encoding.UTF8.GetBytes(i.ToString()))).ToList();
        return await _store.CommitBatchAsync(commands, [], CancellationToken.None);
    }

    private static List<long> Drain(Subscriber s)
    {
        var buffer = new HubEvent?[10_000];
        var n = s.Drain(buffer);
        return buffer.Take(n).Select(e => e!.Id).ToList();
    }

    private static async Task<List<long>> DrainAsync(Subscriber s, int count)
    {
        var ids = new List<long>();
        while (ids.Count < count && await s.WaitToReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))
        {
            ids.AddRange(Drain(s));
        }

        return ids;
    }

    [Fact]
    public async Task Deliver_OutOfOrderAndDuplicated_ComesOutOnceInOrder()
    {
        var (dispatcher, subscriber) = Create(TimeSpan.FromSeconds(30));
        await dispatcher.InitializeAsync(CancellationToken.None);
        var events = await StoreAsync(5);
        foreach (var i in new[] { 1, 0, 0, 3, 2, 4, 1 })
        {
            dispatcher.Deliver(events[i]);
        }

        Assert.Equal(events.Select(e => e.Id), Drain(subscriber));
    }

    [Fact]
    public async Task Deliver_GapThatNeverArrivesLive_IsFilledFromTheStore()
    {
        var (dispatcher, subscriber) = Create(TimeSpan.FromMilliseconds(50));
        await dispatcher.InitializeAsync(CancellationToken.None);
        var events = await StoreAsync(4);
        dispatcher.Deliver(events[0]);
        Assert.Equal([events[0].Id], Drain(subscriber));
        dispatcher.Deliver(events[3]); // 2 and 3 are "lost on the backplane"
        Assert.Empty(Drain(subscriber));

        // The reorder window passes, the dispatcher reads 2 and 3 from the store and releases 4 behind them.
        Assert.Equal(events.Skip(1).Select(e => e.Id), await DrainAsync(subscriber, 3));
    }

    [Fact]
    public async Task CatchUp_AfterMissingEverything_DeliversAllInOrder()
    {
        var (dispatcher, subscriber) = Create(TimeSpan.FromSeconds(30));
        await dispatcher.InitializeAsync(CancellationToken.None);
        var events = await StoreAsync(2500);
        await dispatcher.CatchUpAsync();
        Assert.Equal(events.Select(e => e.Id), Drain(subscriber));
        await dispatcher.CatchUpAsync();
        Assert.Empty(Drain(subscriber));
    }

    [Fact]
    public async Task CommitBatch_AssignsGaplessIncreasingIds()
    {
        var a = await StoreAsync(3);
        var b = await StoreAsync(2);
        var ids = a.Concat(b).Select(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range((int)ids[0], 5).Select(i => (long)i), ids);
        Assert.Equal(ids[^1], await _store.GetLastEventIdAsync());
    }
}
