using System.Text;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Server.Tests.Pipeline;

/// <summary>
/// The dispatcher with commit markers (<c>Herald:Redis:Subscribe=interest</c>): ids of topics nobody here wants pass on
/// their marker alone, wanted ones wait for their body or the store, and the prefix stays global, so a stream of
/// several topics gets them in id order whatever order bodies and markers come in.
/// </summary>
public sealed partial class EventDispatcherTests
{
    private async Task<(EventDispatcher Dispatcher, TopicRegistry Registry, HeraldMetrics Metrics)> CreateWithRegistryAsync(TimeSpan reorderWindow)
    {
        var registry = new TopicRegistry();
        var metrics = new HeraldMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var dispatcher = new EventDispatcher(registry, _store, metrics, NullLogger<EventDispatcher>.Instance, reorderWindow);
        await dispatcher.InitializeAsync(CancellationToken.None);
        return (dispatcher, registry, metrics);
    }

    private static Subscriber Subscribe(TopicRegistry registry, params string[] topics)
    {
        var subscriber = new Subscriber("test", topics, 10_000, 1 << 24);
        registry.Add(subscriber);
        return subscriber;
    }

    private async Task<IReadOnlyList<HubEvent>> StoreOnAsync(params string[] topics)
    {
        var commands = topics.Select((t, i) => (WriteCommand)new PublishEventCommand(t, "message", Encoding.UTF8.GetBytes(i.ToString()))).ToList();
        return await _store.CommitBatchAsync(commands, [], CancellationToken.None);
    }

    private static void Cover(EventDispatcher dispatcher, IReadOnlyList<HubEvent> events) => dispatcher.Cover(events[0].Id, [.. events.Select(e => e.Topic)]);

    [Fact]
    public async Task Cover_IdsOfTopicsNobodyWants_PassWithoutBodies_AndTheNextWantedBodyIsDeliveredAtOnce()
    {
        // A window no test waits out: anything that had to wait for it would not arrive.
        var (dispatcher, registry, metrics) = await CreateWithRegistryAsync(TimeSpan.FromMinutes(5));
        var subscriber = Subscribe(registry, "t");
        var events = await StoreOnAsync("x", "y", "x", "t");
        Cover(dispatcher, events);
        Assert.Equal(events[2].Id, dispatcher.LastDeliveredId);
        dispatcher.Deliver(events[3]);
        Assert.Equal([events[3].Id], Drain(subscriber));
        Assert.Equal(3, metrics.EventsCovered.Total);
    }

    [Fact]
    public async Task MultiTopicStream_LaterBodyOfOneTopicBeforeTheMarkerOfAnEarlierId_WaitsAndComesOutInIdOrder()
    {
        var (dispatcher, registry, _) = await CreateWithRegistryAsync(TimeSpan.FromMinutes(5));
        var subscriber = Subscribe(registry, "a", "b");
        var first = await StoreOnAsync("a", "x");    // node A's batch
        var second = await StoreOnAsync("b");        // node C's, a moment later
        // C's body arrives first (A's publish is slow): per-topic ordering would deliver b now, before a.
        dispatcher.Deliver(second[0]);
        Assert.Empty(Drain(subscriber));
        Cover(dispatcher, second);
        Assert.Empty(Drain(subscriber));
        Cover(dispatcher, first);
        Assert.Empty(Drain(subscriber));
        dispatcher.Deliver(first[0]);
        Assert.Equal([first[0].Id, second[0].Id], Drain(subscriber));
    }

    [Fact]
    public async Task Cover_WantedBodyThatNeverArrives_IsReadFromTheStoreAfterTheWindow()
    {
        var (dispatcher, registry, _) = await CreateWithRegistryAsync(TimeSpan.FromMilliseconds(50));
        var subscriber = Subscribe(registry, "t");
        var events = await StoreOnAsync("t", "x", "t");
        Cover(dispatcher, events);
        Assert.Equal(events.Where(e => e.Topic == "t").Select(e => e.Id), await DrainAsync(subscriber, 2));
        Assert.Equal(events[^1].Id, dispatcher.LastDeliveredId);
    }

    [Fact]
    public async Task LostMarker_BeforeALaterOne_TheRangeIsReadFromTheStore()
    {
        var (dispatcher, registry, _) = await CreateWithRegistryAsync(TimeSpan.FromMilliseconds(50));
        var subscriber = Subscribe(registry, "t");
        var lost = await StoreOnAsync("t", "x");
        var later = await StoreOnAsync("x", "t");
        Cover(dispatcher, later);
        dispatcher.Deliver(later[1]);
        Assert.Equal([lost[0].Id, later[1].Id], await DrainAsync(subscriber, 2));
    }

    [Fact]
    public async Task SubscriberRegisteredAfterTheMarker_GetsTheBodyFromTheStore_AndNothingTwice()
    {
        var (dispatcher, registry, _) = await CreateWithRegistryAsync(TimeSpan.FromMilliseconds(50));
        Subscribe(registry, "x");
        var before = await StoreOnAsync("x");
        dispatcher.Deliver(before[0]);
        var events = await StoreOnAsync("t", "t");
        // Nobody here wanted t when its events were published, so the node's channel for t was not subscribed and the
        // first body never came; a subscriber registers before the marker arrives, the second body comes over the
        // channel subscribed meanwhile. The first is read from the store, in order, after the window.
        var subscriber = Subscribe(registry, "t");
        Cover(dispatcher, events);
        dispatcher.Deliver(events[1]);
        Assert.Equal(events.Select(e => e.Id), await DrainAsync(subscriber, 2));
        // Late copies (fan-out is synchronous, so a duplicate would be queued by now).
        dispatcher.Deliver(events[0]);
        dispatcher.Deliver(events[1]);
        Assert.Empty(Drain(subscriber));
    }

    [Fact]
    public async Task Cover_DuplicateAndOverlappingMarkers_DeliverEachBodyOnce()
    {
        var (dispatcher, registry, _) = await CreateWithRegistryAsync(TimeSpan.FromMinutes(5));
        var subscriber = Subscribe(registry, "t");
        var events = await StoreOnAsync("t", "x", "t");
        dispatcher.Deliver(events[0]);
        Cover(dispatcher, events);
        Cover(dispatcher, events);
        dispatcher.Deliver(events[2]);
        dispatcher.Deliver(events[0]);
        Cover(dispatcher, events);
        Assert.Equal([events[0].Id, events[2].Id], Drain(subscriber));
        Assert.Equal(events[2].Id, dispatcher.LastDeliveredId);
    }
}
