using System.Collections.Concurrent;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Bridge.Tests;

/// <summary>
/// The WHATWG dispatch rules end to end: an upstream on loopback writes exact bytes, the bridge relays
/// <c>sse-event</c> payloads whose <c>event</c>, <c>id</c> and <c>retry</c> are those of each event's own block.
/// </summary>
public sealed class BridgeSseDispatchTests
{
    /// <summary>Upstream bytes, then the relayed events as <c>id|event|data|retry</c> with <c>~</c> for null.</summary>
    public static TheoryData<string, string[]> Streams => new()
    {
        // Spec, dispatch step 2: a block without data sets "the data buffer and the event type buffer to the empty string".
        { "event: foo\n\ndata: x\n\n", ["~|message|x|~"] },
        { "event: foo\r\n\r\ndata: x\r\n\r\n", ["~|message|x|~"] },
        // Spec, step 6: only an event type buffer "other than the empty string" changes the type from message.
        { "event:\ndata: x\n\n", ["~|message|x|~"] },
        { "event: \ndata: x\n\nevent\ndata: y\n\n", ["~|message|x|~", "~|message|y|~"] },
        // docs/bridge.md: retry and id are "of this event", not of an earlier block that dispatched nothing.
        { "retry: 1000\n\ndata: x\n\n", ["~|message|x|~"] },
        { "id: 5\n\ndata: x\n\n", ["~|message|x|~"] },
        { "retry: 1000\nid: 5\nevent: e\n\nretry: 2000\ndata: x\n\nid: 6\ndata: y\n\n", ["~|message|x|2000", "6|message|y|~"] },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task SseEvent_FieldsComeFromTheEventsOwnBlock(string upstreamBytes, string[] expected)
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, upstreamBytes);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal("closed", replies[^1].Type());
        var events = replies.Where(r => r.Type() == "sse-event").Select(r => r.Payload())
            .Select(p => $"{p.Str("id") ?? "~"}|{p.Str("event")}|{p.Str("data")}|{p.Str("retry") ?? "~"}");
        Assert.Equal(expected, events);
    }

    [Fact]
    public async Task Resume_IdOfABlockWithoutData_IsTheLastEventIdSent()
    {
        // Spec, dispatch step 1 runs before the empty-data check: "id: 2\n\n" moves the last event ID string.
        var lastEventIds = new ConcurrentQueue<string>();
        var connection = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            lastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
            if (Interlocked.Increment(ref connection) == 1)
            {
                await UpstreamServer.StartEventStreamAsync(context);
                await UpstreamServer.WriteAsync(context, "retry: 10\nid: 1\ndata: one\n\nid: 2\n\n");
                return;
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        await using var bridge = await BridgeServer.StartAsync(s =>
        {
            s.LegacyData = false;
            s.Resume.Enabled = true;
        });
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "closed"], replies.Select(r => r.Type()));
        Assert.Equal(["", "2"], lastEventIds);
    }
}
