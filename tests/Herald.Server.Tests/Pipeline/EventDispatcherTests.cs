using System.Text;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Topics;
using Herald.Server.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Server.Tests.Pipeline;

public sealed partial class EventDispatcherTests : IAsyncLifetime
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
