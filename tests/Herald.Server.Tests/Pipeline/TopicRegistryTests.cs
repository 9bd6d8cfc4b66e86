using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Tests.Pipeline;

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
