using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Tests.Pipeline;

public class SubscriberDrainTests
{
    [Fact]
    public async Task Drain_AfterCloseWakesWaitingWriter_ReturnsZeroAndWriterStops()
    {
        var subscriber = new Subscriber("sse", ["t"], 16, 1024);
        var wait = subscriber.WaitToReadAsync();
        subscriber.Close(Herald.Protocol.Disconnect.ClientClosed);

        // The waiting writer wakes after Close with "nothing to read"; draining then must find nothing (it threw before).
        Assert.False(await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, subscriber.Drain(new HubEvent?[8]));
        Assert.False(await subscriber.WaitToReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
