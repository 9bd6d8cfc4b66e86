using System.Text;
using Herald.Server.Backplane;
using Herald.Server.Events;
using Herald.Server.Hosting;

namespace Herald.Server.Tests.Backplane;

public sealed class RedisProtocolTests
{
    [Theory]
    [InlineData("{\"type\":\"message:new\",\"message\":{\"id\":1,\"text\":\"hi\"}}")]
    [InlineData("{}")]
    [InlineData("{\"event_id\":99,\"event\":\"mine\",\"x\":1}")]
    [InlineData("{\"a\":{\"event_id\":5}}")]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("[1,2,{\"event_id\":3}]")]
    [InlineData("null")]
    public void EncodeThenDecode_GivesBackTheSameEventAndBytes(string data)
    {
        var original = new HubEvent(17, "dialog:3", "message", Encoding.UTF8.GetBytes(data), 1_700_000_000_000, key: 3);
        var payload = RedisProtocol.Encode(original, "node1");
        Assert.True(RedisProtocol.TryDecode("dialog:3", payload, out var decoded, out var node));
        Assert.Equal("node1", node);
        Assert.Equal(17, decoded!.Id);
        Assert.Equal("message", decoded.Type);
        Assert.Equal(3, decoded.Key);
        Assert.Equal(1_700_000_000_000, decoded.CreatedAtMs);
        Assert.Equal(data, Encoding.UTF8.GetString(decoded.Data.Span));
        Assert.Equal(original.SseFrame, decoded.SseFrame);
    }

    [Fact]
    public void Encode_DialogEvent_LooksLikeSeed000WithTheEventId()
    {
        var payload = Encoding.UTF8.GetString(RedisProtocol.Encode(
            new HubEvent(5, "dialog:1", "message", "{\"type\":\"message:new\",\"message\":{}}"u8.ToArray(), 0), "n"));
        Assert.StartsWith("{\"type\":\"message:new\",\"message\":{},\"event_id\":5,", payload, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"type\":\"message:new\"}")]
    [InlineData("{\"event_id\":\"x\",\"event\":\"message\"}")]
    [InlineData("{\"event_id\":1,\"event\":\"bad name\\n\"}")]
    [InlineData("[]")]
    public void Decode_ForeignPayload_IsRejected(string payload) =>
        Assert.False(RedisProtocol.TryDecode("t", Encoding.UTF8.GetBytes(payload), out _, out _));

    [Theory]
    [InlineData("dialog:42", "ws:dialog:42")]
    [InlineData("dialogs", "herald:topic:dialogs")]
    [InlineData("notifications", "herald:topic:notifications")]
    public void Channels_MapTopicsBothWays(string topic, string channel)
    {
        var channels = HeraldApp.BackplaneChannels(new RedisOptions { ChannelPrefix = "herald:topic:" });
        Assert.Equal(channel, channels.ChannelFor(topic));
        Assert.Equal(topic, channels.TopicFor(channel));
    }

    [Fact]
    public void Channels_MapOnlyTheNamespacesTheyAreGiven()
    {
        var channels = new RedisChannels("t:", [new ChannelMapping("chat:", "seed:chat:")]);
        Assert.Equal(["seed:chat:*", "t:*"], channels.Patterns);
        Assert.Equal("seed:chat:1", channels.ChannelFor("chat:1"));
        Assert.Equal("chat:1", channels.TopicFor("seed:chat:1"));
        Assert.Equal("t:dialog:1", channels.ChannelFor("dialog:1"));
        Assert.Equal("dialog:1", channels.TopicFor("t:dialog:1"));
        Assert.Null(channels.TopicFor("ws:dialog:1"));
    }
}
