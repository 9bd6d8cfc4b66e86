using System.Text;
using Herald.Testing;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

public class RedisSubscriberTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Publish_reaches_a_subscribed_channel()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("sub:plain:1").Within();

        Assert.Equal(1, await publisher.PublishAsync("sub:plain:1", Encoding.UTF8.GetBytes("hello")).Within());

        var message = await subscriber.Messages.NextAsync();
        Assert.Equal("sub:plain:1", message.Channel);
        Assert.Null(message.Pattern);
        Assert.Equal("hello", Encoding.UTF8.GetString(message.Payload.Span));
    }

    [Fact]
    public async Task Pattern_subscription_reports_the_channel_and_the_pattern()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.PSubscribeAsync("ws:dialog:*").Within();

        await publisher.PublishAsync("ws:dialog:1", "{\"id\":1}"u8.ToArray()).Within();
        await publisher.PublishAsync("ws:other:1", "ignored"u8.ToArray()).Within();
        await publisher.PublishAsync("ws:dialog:2", "{\"id\":2}"u8.ToArray()).Within();

        var first = await subscriber.Messages.NextAsync();
        Assert.Equal(new RedisMessage("ws:dialog:1", "ws:dialog:*", first.Payload), first);
        Assert.Equal("{\"id\":1}", Encoding.UTF8.GetString(first.Payload.Span));
        var second = await subscriber.Messages.NextAsync();
        Assert.Equal("ws:dialog:2", second.Channel);
        Assert.Equal("ws:dialog:*", second.Pattern);
    }

    [Fact]
    public async Task A_channel_matched_by_both_a_subscription_and_a_pattern_is_delivered_twice()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("both:1").Within();
        await subscriber.PSubscribeAsync("both:*").Within();

        Assert.Equal(2, await publisher.PublishAsync("both:1", "x"u8.ToArray()).Within());
        var patterns = new[] { await subscriber.Messages.NextAsync(), await subscriber.Messages.NextAsync() }
            .Select(m => m.Pattern).Order().ToArray();
        Assert.Null(patterns[0]);
        Assert.Equal("both:*", patterns[1]);
    }

    [Fact]
    public async Task Unsubscribe_stops_delivery()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("unsub:a").Within();
        await subscriber.PSubscribeAsync("unsub:p:*").Within();
        await subscriber.SubscribeAsync("unsub:marker").Within();

        await subscriber.UnsubscribeAsync("unsub:a").Within();
        await subscriber.PUnsubscribeAsync("unsub:p:*").Within();
        Assert.Equal(0, await publisher.PublishAsync("unsub:a", "x"u8.ToArray()).Within());
        Assert.Equal(0, await publisher.PublishAsync("unsub:p:1", "x"u8.ToArray()).Within());

        // Messages arrive in order, so if the marker is next nothing else was queued before it.
        await publisher.PublishAsync("unsub:marker", "m"u8.ToArray()).Within();
        Assert.Equal("unsub:marker", (await subscriber.Messages.NextAsync()).Channel);

        // Unsubscribing from something never subscribed is harmless.
        await subscriber.UnsubscribeAsync("unsub:never").Within();
    }

    [Fact]
    public async Task Delivers_binary_and_large_payloads_intact_and_in_order()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("bin:1").Within();

        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var large = Enumerable.Range(0, 1_000_000).Select(i => (byte)(i % 251)).ToArray();
        var publishes = new List<Task<long>> { publisher.PublishAsync("bin:1", binary), publisher.PublishAsync("bin:1", large) };
        for (var i = 0; i < 1000; i++)
        {
            publishes.Add(publisher.PublishAsync("bin:1", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }

        await Task.WhenAll(publishes).Within();
        Assert.Equal(binary, (await subscriber.Messages.NextAsync()).Payload.ToArray());
        Assert.Equal(large, (await subscriber.Messages.NextAsync()).Payload.ToArray());
        for (var i = 0; i < 1000; i++)
        {
            var message = await subscriber.Messages.NextAsync();
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.UTF8.GetString(message.Payload.Span));
        }
    }

    [Fact]
    public async Task Long_and_unicode_channel_names_work()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        var longName = "long:" + new string('x', 1000);
        await subscriber.SubscribeAsync(longName).Within();
        await subscriber.SubscribeAsync("ünï:cødé").Within();

        await publisher.PublishAsync(longName, "1"u8.ToArray()).Within();
        await publisher.PublishAsync("ünï:cødé", "2"u8.ToArray()).Within();
        Assert.Equal(longName, (await subscriber.Messages.NextAsync()).Channel);
        Assert.Equal("ünï:cødé", (await subscriber.Messages.NextAsync()).Channel);
    }

    [Fact]
    public async Task Dispose_completes_the_message_channel_and_background_work()
    {
        var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("dispose:1").Within();
        var reading = subscriber.Messages.ReadAllAsync().ToListAsync().AsTask();

        await subscriber.DisposeAsync().AsTask().Within();

        Assert.Empty(await reading.Within());
        Assert.True(subscriber.BackgroundWork.IsCompleted);
        Assert.False(subscriber.IsConnected);
        Assert.Throws<ObjectDisposedException>(() => { _ = subscriber.SubscribeAsync("dispose:2"); });
    }

    [Fact]
    public async Task A_consumer_too_far_behind_makes_the_subscriber_reconnect_instead_of_buffering()
    {
        var options = Options(server.Url);
        options.MessageQueueCapacity = 10;
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(options).Within();
        await subscriber.SubscribeAsync("slow:1").Within();
        var lost = WhenState(subscriber, connected: false);
        var reconnected = WhenReconnected(subscriber);

        var publishes = Enumerable.Range(0, 50).Select(i => publisher.PublishAsync("slow:1", BitConverter.GetBytes(i))).ToList();
        await Task.WhenAll(publishes).Within();
        await lost;

        // The queue kept the first ten, in order; the subscriber waits for the consumer before reconnecting.
        Assert.False(reconnected.IsCompleted);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32((await subscriber.Messages.NextAsync()).Payload.Span));
        }

        await reconnected;
        Assert.Equal(1, subscriber.ReconnectCount);
        await publisher.PublishAsync("slow:1", BitConverter.GetBytes(1000)).Within();
        Assert.Equal(1000, BitConverter.ToInt32((await subscriber.Messages.NextAsync()).Payload.Span));
    }
}
