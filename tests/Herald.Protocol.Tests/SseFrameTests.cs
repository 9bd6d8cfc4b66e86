using System.Net.ServerSentEvents;
using System.Text;

namespace Herald.Protocol.Tests;

public sealed class SseFrameTests
{
    [Fact]
    public void Encode_DurableEvent_HasSeedFieldsInOrder()
    {
        var frame = SseFrame.Encode(42, "message", "{\"type\":\"message:new\"}"u8);
        Assert.Equal("id: 42\nevent: message\ndata: {\"type\":\"message:new\"}\n\n", Encoding.UTF8.GetString(frame));
    }

    [Fact]
    public void Encode_WithoutId_OmitsTheIdField()
    {
        var frame = SseFrame.Encode(0, "typing", "{}"u8);
        Assert.Equal("event: typing\ndata: {}\n\n", Encoding.UTF8.GetString(frame));
    }

    [Theory]
    [InlineData("a\nb", "data: a\ndata: b\n")]
    [InlineData("a\rb", "data: a\ndata: b\n")]
    [InlineData("a\r\nb", "data: a\ndata: b\n")]
    [InlineData("a\n\nb", "data: a\ndata: \ndata: b\n")]
    [InlineData("a\n", "data: a\ndata: \n")]
    [InlineData("", "data: \n")]
    public void Encode_LineBreaksInData_BecomeSeparateDataLines(string data, string expectedDataLines)
    {
        var frame = Encoding.UTF8.GetString(SseFrame.Encode(1, "message", Encoding.UTF8.GetBytes(data)));
        Assert.Equal("id: 1\nevent: message\n" + expectedDataLines + "\n", frame);
    }

    [Theory]
    [InlineData("a\nb")]
    [InlineData("a\rb")]
    [InlineData("message\n\ndata: forged")]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("nul\0")]
    public void Encode_EventNameThatCouldBreakFraming_IsRefused(string name) =>
        Assert.Throws<ArgumentException>(() => SseFrame.Encode(1, name, "1"u8));

    [Theory]
    [InlineData("plain")]
    [InlineData("{\"type\":\"message:new\",\"message\":{\"text\":\"hi\\nthere\"}}")]
    [InlineData("line1\nline2\r\nline3\rline4")]
    [InlineData("id: 7\nevent: reset\n\ndata: x")]
    public async Task RoundTrip_ThroughTheRuntimeParser_GivesBackTheSameEvent(string data)
    {
        var bytes = SseFrame.Retry(5000).Concat(SseFrame.Heartbeat.ToArray()).Concat(SseFrame.Encode(7, "message", Encoding.UTF8.GetBytes(data))).ToArray();
        var parser = SseParser.Create(new MemoryStream(bytes));
        var items = new List<SseItem<string>>();
        await foreach (var item in parser.EnumerateAsync())
        {
            items.Add(item);
        }

        var only = Assert.Single(items);
        Assert.Equal("message", only.EventType);
        Assert.Equal("7", only.EventId);
        Assert.Equal(data.Replace("\r\n", "\n").Replace('\r', '\n'), only.Data);
        Assert.Equal(TimeSpan.FromMilliseconds(5000), parser.ReconnectionInterval);
    }

    [Fact]
    public void Comment_LineBreaks_AreFlattened() =>
        Assert.Equal(": a b\n\n", Encoding.UTF8.GetString(SseFrame.Comment("a\nb")));
}

public sealed class WsFrameTests
{
    [Theory]
    [InlineData(5, "message", "{\"type\":\"message:new\",\"message\":{}}", "{\"event_id\":5,\"type\":\"message:new\",\"message\":{}}")]
    [InlineData(5, "progress", "{\"step\":1}", "{\"event_id\":5,\"event\":\"progress\",\"step\":1}")]
    [InlineData(5, "progress", "42", "{\"event_id\":5,\"event\":\"progress\",\"data\":42}")]
    [InlineData(0, "typing", "{\"sender\":\"user\"}", "{\"event\":\"typing\",\"sender\":\"user\"}")]
    [InlineData(0, "message", "{}", "{}")]
    [InlineData(3, "message", "{ }", "{\"event_id\":3}")]
    public void Encode_AddsIdAndEventToTheData(long id, string name, string data, string expected) =>
        Assert.Equal(expected, Encoding.UTF8.GetString(WsFrame.Encode(id, name, Encoding.UTF8.GetBytes(data))));
}

public sealed class ProtocolNamesTests
{
    [Theory]
    [InlineData("dialog:42", true)]
    [InlineData("user@example.com", true)]
    [InlineData("a.b-c_d", true)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    [InlineData("a\nb", false)]
    [InlineData("a\0", false)]
    [InlineData("Привет", false)]
    public void IsValidTopic(string topic, bool valid) => Assert.Equal(valid, ProtocolNames.IsValidTopic(topic));

    [Fact]
    public void IsValidTopic_TooLong_IsRefused() => Assert.False(ProtocolNames.IsValidTopic(new string('a', 129)));
}
