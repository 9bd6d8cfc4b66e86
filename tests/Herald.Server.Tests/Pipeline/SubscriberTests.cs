using System.Text;
using Herald.Protocol;
using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Tests.Pipeline;

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
    public async Task View_RefusedEventsAreNotQueued_SoTheyNeverOverflowTheQueue()
    {
        // A queue of 4: eight refused events would close it as a slow consumer if they were queued.
        var s = new Subscriber("test", ["t"], 4, 1 << 20) { View = new EvenIdsOnly() };
        for (var i = 1; i <= 9; i += 2)
        {
            Assert.True(s.TryEnqueue(Event(i)));
        }

        Assert.True(s.TryEnqueue(Event(10)));
        Assert.Null(s.CloseReason);
        Assert.True(await s.WaitToReadAsync());
        var buffer = new HubEvent?[8];
        Assert.Equal(1, s.Drain(buffer));
        Assert.Equal(10, buffer[0]!.Id);
    }

    private sealed class EvenIdsOnly : EventView
    {
        public override bool Accepts(HubEvent item) => item.Id % 2 == 0;

        public override byte[] SseFrame(HubEvent item) => item.SseFrame;
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
