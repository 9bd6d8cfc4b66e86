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
    public void TracedEvent_CarriesItsW3CTraceParent_AndAnUntracedPayloadIsUnchanged()
    {
        var data = "{\"type\":\"message:new\"}"u8.ToArray();
        var untraced = Encoding.UTF8.GetString(RedisProtocol.Encode(new HubEvent(5, "dialog:1", "message", data, 7), "n"));
        // The payload every node has published so far, byte for byte: old and new nodes read each other's untraced events.
        Assert.Equal("{\"type\":\"message:new\",\"event_id\":5,\"event\":\"message\",\"herald_node\":\"n\",\"herald_key\":0,\"herald_ts\":7}", untraced);

        var context = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(),
            System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);
        var traced = new HubEvent(5, "dialog:1", "message", data, 7) { TraceContext = context };
        var payload = RedisProtocol.Encode(traced, "n");
        Assert.EndsWith($",\"herald_ts\":7,\"herald_trace\":\"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-01\"}}",
            Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        Assert.True(RedisProtocol.TryDecode("dialog:1", payload, out var decoded, out _));
        Assert.Equal(context.TraceId, decoded!.TraceContext.TraceId);
        Assert.Equal(context.SpanId, decoded.TraceContext.SpanId);
        Assert.True(decoded.TraceContext.IsRemote);
        Assert.Equal(data, decoded.Data.ToArray());

        // A broken traceparent loses the trace, not the event.
        var broken = Encoding.UTF8.GetBytes(untraced[..^1] + ",\"herald_trace\":\"00-zz\"}");
        Assert.True(RedisProtocol.TryDecode("dialog:1", broken, out var kept, out _));
        Assert.False(kept!.IsTraced);
        Assert.Equal(data, kept.Data.ToArray());
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

    [Fact]
    public void Marker_RoundTripsIdsAndTopics_RepeatsCostNoName()
    {
        HubEvent[] run = [.. new[] { "dialog:1", "dialog:1", "dialogs", "dialog:1" }.Select((t, i) => new HubEvent(40 + i, t, "message", "{}"u8.ToArray(), 0))];
        var payload = RedisProtocol.EncodeMarker(40, run);
        Assert.True(RedisProtocol.TryDecodeMarker(payload, out var first, out var topics));
        Assert.Equal(40, first);
        Assert.Equal(run.Select(e => e.Topic), topics);
        // Not an event payload either way: each decoder refuses the other's.
        Assert.False(RedisProtocol.TryDecode("t", payload, out _, out _));
        Assert.False(RedisProtocol.TryDecodeMarker(RedisProtocol.Encode(run[0], "n1"), out _, out _));
        Assert.False(RedisProtocol.TryDecodeMarker(payload.AsMemory(0, payload.Length - 3), out _, out _));
    }

    [Fact]
    public void Markers_SeveralRunsInOnePayload_DecodeRunByRun_AndATruncatedOneIsRefused()
    {
        // Ids 40, 41 then 45..47 (another node committed 42..44 between): two runs, one Redis message.
        List<HubEvent> committed = [.. new[] { (40L, "a"), (41L, "a"), (45L, "b"), (46L, "a"), (47L, "a") }.Select(e => new HubEvent(e.Item1, e.Item2, "message", "{}"u8.ToArray(), 0))];
        var payload = RedisProtocol.EncodeMarkers(committed);

        Assert.True(RedisProtocol.TryDecodeMarkers(payload, out var runs));
        Assert.Equal([(40L, new List<string> { "a", "a" }), (45L, ["b", "a", "a"])], runs!.Select(r => (r.FirstId, r.Topics)).ToList(), new RunComparer());
        Assert.False(RedisProtocol.TryDecodeMarkers(payload.AsMemory(0, payload.Length - 1), out _));
        Assert.False(RedisProtocol.TryDecodeMarkers(ReadOnlyMemory<byte>.Empty, out _));
    }

    private sealed class RunComparer : IEqualityComparer<(long, List<string>)>
    {
        public bool Equals((long, List<string>) x, (long, List<string>) y) => x.Item1 == y.Item1 && x.Item2.SequenceEqual(y.Item2);

        public int GetHashCode((long, List<string>) obj) => obj.Item1.GetHashCode();
    }

    [Fact]
    public void PeekTopic_ReadsTheShardPayloadsTrailer_WithoutDecoding()
    {
        var item = new HubEvent(7, "room:9", "message", "{\"herald_topic\":\"decoy\"}"u8.ToArray(), 0);
        Assert.Equal("room:9", RedisProtocol.PeekTopic(RedisProtocol.Encode(item, "n1", includeTopic: true)));
        Assert.Null(RedisProtocol.PeekTopic(RedisProtocol.Encode(item, "n1")));
    }
}
