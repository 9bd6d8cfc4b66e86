using Herald.Testing.Bridge;

namespace Herald.Bridge.Tests;

/// <summary>The bridge against nginx + nchan, an SSE server written elsewhere. Fails (never skips) without nginx.</summary>
public sealed class BridgeNchanTests
{
    [Fact]
    public async Task Nchan_PublishedMessages_ArriveThroughTheBridge()
    {
        await using var nchan = await NchanServer.StartAsync();
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();
        using var http = new HttpClient();
        var channel = $"c{Guid.NewGuid():N}";

        await client.SendAsync(new { protocol = "http", address = "127.0.0.1", port = nchan.Port, path = $"/sub?id={channel}", method = "GET", id = "n" });
        var connected = await client.ReceiveAsync();
        Assert.Equal("connected", connected.Type());
        Assert.StartsWith("text/event-stream", connected.Payload().GetProperty("headers").Str("content-type"), StringComparison.Ordinal);

        Assert.InRange(await nchan.PublishAsync(http, channel, "hello from nchan"), 200, 299);
        var first = await client.ReceiveAsync();
        Assert.Equal("sse-event", first.Type());
        Assert.Equal("hello from nchan", first.Payload().Str("data"));
        Assert.Equal("message", first.Payload().Str("event"));
        Assert.False(string.IsNullOrEmpty(first.Payload().Str("id")), "nchan gives every message an id");

        // nchan splits a multi-line message into several data: lines; the bridge joins them back with LF.
        Assert.InRange(await nchan.PublishAsync(http, channel, "line one\nline two"), 200, 299);
        var second = await client.ReceiveAsync();
        Assert.Equal("line one\nline two", second.Payload().Str("data"));
        Assert.NotEqual(first.Payload().Str("id"), second.Payload().Str("id"));

        await client.SendAsync(new { type = "cancel", id = "n" });
        Assert.Equal("closed", (await client.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task Nchan_LastEventIdForwarded_ServerReplaysOnlyLaterMessages()
    {
        await using var nchan = await NchanServer.StartAsync();
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();
        using var http = new HttpClient();
        var channel = $"c{Guid.NewGuid():N}";

        await client.SendAsync(new { protocol = "http", address = "127.0.0.1", port = nchan.Port, path = $"/sub?id={channel}", id = 1 });
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        await nchan.PublishAsync(http, channel, "A");
        var a = await client.ReceiveAsync();
        await nchan.PublishAsync(http, channel, "B");
        Assert.Equal("B", (await client.ReceiveAsync()).Payload().Str("data"));
        await client.SendAsync(new { type = "cancel", id = 1 });
        Assert.Equal("closed", (await client.ReceiveAsync()).Type());

        // A seed client resuming by hand: the Last-Event-ID header is on the forward allow-list.
        await client.SendAsync(new
        {
            protocol = "http",
            address = "127.0.0.1",
            port = nchan.Port,
            path = $"/sub?id={channel}",
            id = 2,
            headers = new Dictionary<string, string> { ["Last-Event-ID"] = a.Payload().Str("id")! },
        });
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        var replayed = await client.ReceiveAsync();

        Assert.Equal("B", replayed.Payload().Str("data"));
        await client.SendAsync(new { type = "cancel", id = 2 });
        Assert.Equal("closed", (await client.ReceiveAsync()).Type());
    }
}
