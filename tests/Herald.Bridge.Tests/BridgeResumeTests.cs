using System.Collections.Concurrent;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Bridge.Tests;

/// <summary>Resume: reconnect after the server's <c>retry</c> with <c>Last-Event-ID</c>, never relaying an event twice.</summary>
public sealed class BridgeResumeTests
{
    [Fact]
    public async Task Resume_ServerHonoursLastEventId_ClientSeesEachEventOnce_OneConnected()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        var connection = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            lastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
            switch (Interlocked.Increment(ref connection))
            {
                case 1:
                    await UpstreamServer.StartEventStreamAsync(context);
                    await UpstreamServer.WriteAsync(context, "retry: 20\nid: 1\ndata: one\n\nid: 2\ndata: two\n\n");
                    break;
                case 2:
                    await UpstreamServer.StartEventStreamAsync(context);
                    await UpstreamServer.WriteAsync(context, "id: 3\ndata: three\n\n");
                    break;
                default:
                    // Spec: 204 tells the client to stop reconnecting.
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    break;
            }
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        var request = upstream.Request("/");
        request["resume"] = true;
        await client.SendAsync(request);
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "sse-event", "sse-event", "closed"], replies.Select(r => r.Type()));
        Assert.Equal(["one", "two", "three"], replies.Where(r => r.Type() == "sse-event").Select(r => r.Payload().Str("data")));
        Assert.Equal("Server closed connection normally.", replies[^1].Payload().Str("reason"));
        Assert.Equal(["", "2", "3"], lastEventIds);
    }

    [Fact]
    public async Task Resume_ServerReplaysEverything_DuplicatesSkipped()
    {
        var connection = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            // Ignores Last-Event-ID: every connection starts from the first event and adds one more.
            var n = Interlocked.Increment(ref connection);
            if (n > 3)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "retry: 10\n\n");
            for (var i = 1; i <= n + 1; i++)
            {
                await UpstreamServer.WriteAsync(context, $"id: e{i}\ndata: event {i}\n\n");
            }
        });
        await using var bridge = await BridgeServer.StartAsync(s =>
        {
            s.LegacyData = false;
            s.Resume.Enabled = true;
        });
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["e1", "e2", "e3", "e4"], replies.Where(r => r.Type() == "sse-event").Select(r => r.Payload().Str("id")));
        Assert.Equal("closed", replies[^1].Type());
    }

    [Fact]
    public async Task Resume_AfterConnectionReset_Reconnects()
    {
        var relayed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lastEventIds = new ConcurrentQueue<string>();
        var connection = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            lastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
            switch (Interlocked.Increment(ref connection))
            {
                case 1:
                    await UpstreamServer.StartEventStreamAsync(context);
                    await UpstreamServer.WriteAsync(context, "retry: 10\nid: 41\ndata: before\n\n");
                    await relayed.Task.WaitAsync(Within.Timeout);
                    context.Abort();
                    break;
                case 2:
                    await UpstreamServer.StartEventStreamAsync(context);
                    await UpstreamServer.WriteAsync(context, "id: 42\ndata: after\n\n");
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    break;
            }
        });
        await using var bridge = await BridgeServer.StartAsync(s =>
        {
            s.LegacyData = false;
            s.Resume.Enabled = true;
        });
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/", id: "r"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        Assert.Equal("before", (await client.ReceiveAsync()).Payload().Str("data"));
        relayed.SetResult();
        var rest = await client.ReceiveUntilEndAsync();

        Assert.Equal(["sse-event", "closed"], rest.Select(r => r.Type()));
        Assert.Equal("after", rest[0].Payload().Str("data"));
        Assert.Equal(["", "41", "42"], lastEventIds);
    }

    [Fact]
    public async Task Resume_NoNewEvents_GivesUpAfterMaxAttempts()
    {
        var connections = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            Interlocked.Increment(ref connections);
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "retry: 10\n\n");
        });
        await using var bridge = await BridgeServer.StartAsync(s =>
        {
            s.Resume.Enabled = true;
            s.Resume.MaxAttempts = 2;
        });
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "error"], replies.Select(r => r.Type()));
        Assert.Contains("2 reconnect attempts", replies[^1].Message(), StringComparison.Ordinal);
        Assert.Equal(3, connections);
    }

    [Fact]
    public async Task Resume_OffPerRequest_EndsAtFirstEof()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: only\n\n");
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Resume.Enabled = true);
        await using var client = await bridge.ConnectAsync();

        var request = upstream.Request("/");
        request["resume"] = false;
        await client.SendAsync(request);

        Assert.Equal(["connected", "sse-event", "data", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
    }

    [Fact]
    public async Task Resume_ReconnectAnsweredWithError_EndsWithThatError()
    {
        var connection = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            if (Interlocked.Increment(ref connection) == 1)
            {
                await UpstreamServer.StartEventStreamAsync(context);
                await UpstreamServer.WriteAsync(context, "retry: 10\nid: 1\ndata: x\n\n");
                return;
            }

            context.Response.StatusCode = 503;
            await context.Response.WriteAsync("maintenance");
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Resume.Enabled = true);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal("error", replies[^1].Type());
        Assert.Equal(503, replies[^1].Payload().GetProperty("status").GetInt32());
        Assert.Equal("maintenance", replies[^1].Payload().Str("body"));
    }
}
