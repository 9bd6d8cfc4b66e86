using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Herald.Bridge;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Bridge.Tests;

/// <summary>Herald's extensions: tagged concurrent streams, cancel, stream caps, the bridge token.</summary>
public sealed class BridgeConcurrencyTests
{
    [Fact]
    public async Task TaggedRequests_StreamConcurrently_EachReplyTaggedWithItsId()
    {
        // Each stream's second event waits until both streams have sent their first: only concurrency completes this.
        var firsts = new ConcurrentDictionary<string, bool>();
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            var name = context.Request.Path.Value!.Trim('/');
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, $"id: {name}-1\ndata: {name} one\n\n");
            firsts[name] = true;
            if (firsts.Count == 2)
            {
                bothStarted.TrySetResult();
            }

            await bothStarted.Task.WaitAsync(Within.Timeout, context.RequestAborted);
            await UpstreamServer.WriteAsync(context, $"id: {name}-2\ndata: {name} two\n\n");
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/a", id: "a"));
        await client.SendAsync(upstream.Request("/b", id: 2));
        List<JsonElement> replies = [];
        while (replies.Count(r => r.Type() == "closed") < 2)
        {
            replies.Add(await client.ReceiveAsync());
        }

        var a = replies.Where(r => r.Id() == "\"a\"").ToList();
        var b = replies.Where(r => r.Id() == "2").ToList();
        Assert.Equal(replies.Count, a.Count + b.Count);
        Assert.Equal(["connected", "sse-event", "sse-event", "closed"], a.Select(r => r.Type()));
        Assert.Equal(["connected", "sse-event", "sse-event", "closed"], b.Select(r => r.Type()));
        Assert.Equal(["a one", "a two"], a.Where(r => r.Type() == "sse-event").Select(r => r.Payload().Str("data")));
        Assert.Equal(["b one", "b two"], b.Where(r => r.Type() == "sse-event").Select(r => r.Payload().Str("data")));
    }

    [Fact]
    public async Task Cancel_StopsOnlyThatStream_RepliesClosed_AndAbortsUpstream()
    {
        var upstreamGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            var name = context.Request.Path.Value!.Trim('/');
            using var registration = context.RequestAborted.Register(() =>
            {
                if (name == "victim")
                {
                    upstreamGone.TrySetResult();
                }
            });
            await UpstreamServer.StartEventStreamAsync(context);
            for (var i = 0; !context.RequestAborted.IsCancellationRequested; i++)
            {
                await UpstreamServer.WriteAsync(context, $"data: {name} {i}\n\n");
                await Task.Delay(20, context.RequestAborted);
            }
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/victim", id: "v"));
        await client.SendAsync(upstream.Request("/survivor", id: "s"));
        await ReceiveUntilAsync(client, r => r.Id() == "\"v\"" && r.Type() == "sse-event");
        await client.SendAsync(new { type = "cancel", id = "v" });

        var beforeClose = await ReceiveUntilAsync(client, r => r.Id() == "\"v\"" && r.Type() == "closed");
        Assert.Equal("Cancelled by client.", beforeClose[^1].Payload().Str("reason"));
        await upstreamGone.Task.WaitAsync(Within.Timeout);
        // The other stream keeps going, and nothing more arrives for the cancelled one.
        var after = await ReceiveUntilAsync(client, r => r.Id() == "\"s\"" && r.Type() == "sse-event");
        Assert.DoesNotContain(after, r => r.Id() == "\"v\"");
        Assert.Equal(WebSocketState.Open, client.Socket.State);
    }

    [Fact]
    public async Task Cancel_WithoutId_CancelsTheSequentialStream()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        await client.SendAsync(new { type = "cancel" });

        var closed = await client.ReceiveAsync();
        Assert.Equal("closed", closed.Type());
        Assert.Equal("Cancelled by client.", closed.Payload().Str("reason"));
    }

    [Fact]
    public async Task Cancel_UnknownId_RepliesError()
    {
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { type = "cancel", id = "nope" });

        var error = await client.ReceiveAsync();
        Assert.Equal("error", error.Type());
        Assert.Equal("\"nope\"", error.Id());
    }

    [Fact]
    public async Task DuplicateActiveId_RepliesError_FirstStreamUnaffected()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/", id: "x"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        await client.SendAsync(upstream.Request("/", id: "x"));

        var error = await client.ReceiveAsync();
        Assert.Equal("error", error.Type());
        Assert.Contains("already active", error.Message(), StringComparison.Ordinal);
        release.SetResult();
        Assert.Equal("closed", (await client.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task StreamsPerSocketCap_RefusesTheExtraStream()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Limits.MaxStreamsPerSocket = 2);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/", id: 1));
        await client.SendAsync(upstream.Request("/", id: 2));
        await ReceiveUntilAsync(client, r => r.Type() == "connected");
        await ReceiveUntilAsync(client, r => r.Type() == "connected");
        await client.SendAsync(upstream.Request("/", id: 3));

        var error = await client.ReceiveAsync();
        Assert.Equal("3", error.Id());
        Assert.Contains("maxStreamsPerSocket", error.Message(), StringComparison.Ordinal);
        release.SetResult();
    }

    [Fact]
    public async Task BridgeWideStreamCap_RefusesStreamsFromAnotherSocket()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Limits.MaxStreams = 1);
        await using var first = await bridge.ConnectAsync();
        await using var second = await bridge.ConnectAsync();

        await first.SendAsync(upstream.Request("/", id: "f"));
        Assert.Equal("connected", (await first.ReceiveAsync()).Type());
        await second.SendAsync(upstream.Request("/", id: "s"));

        Assert.Contains("maxStreams", (await second.ReceiveAsync()).Message(), StringComparison.Ordinal);
        release.SetResult();
        Assert.Equal("closed", (await first.ReceiveAsync()).Type());
    }

    [Fact]
    public async Task ClientDisconnect_AbortsItsUpstreamStreams()
    {
        var upstreamGone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            using var registration = context.RequestAborted.Register(() => upstreamGone.TrySetResult());
            await UpstreamServer.StartEventStreamAsync(context);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync();
        var client = await bridge.ConnectAsync();
        await client.SendAsync(upstream.Request("/", id: 1));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());

        await client.DisposeAsync();

        await upstreamGone.Task.WaitAsync(Within.Timeout);
    }

    [Theory]
    [InlineData(null, null, HttpStatusCode.Unauthorized)]
    [InlineData("Bearer wrong", null, HttpStatusCode.Unauthorized)]
    [InlineData(null, "?token=wrong", HttpStatusCode.Unauthorized)]
    [InlineData("Basic c2VjcmV0", null, HttpStatusCode.Unauthorized)]
    [InlineData("Bearer s3cret-token", null, HttpStatusCode.SwitchingProtocols)]
    [InlineData(null, "?token=s3cret-token", HttpStatusCode.SwitchingProtocols)]
    public async Task Token_Required_CheckedOnUpgrade(string? authorization, string? query, HttpStatusCode expected)
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.Token = "s3cret-token");
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        using var timeout = new CancellationTokenSource(Within.Timeout);
        try
        {
            await socket.ConnectAsync(new Uri(bridge.Uri + query), timeout.Token);
        }
        catch (WebSocketException)
        {
            // Expected for the refused cases; the status says why.
        }

        Assert.Equal(expected, socket.HttpStatusCode);
        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Contains("Bearer", socket.HttpResponseHeaders?["WWW-Authenticate"].Single(), StringComparison.Ordinal);
        }
        else
        {
            await using var client = new BridgeClientOwner(socket);
        }
    }

    [Theory]
    [InlineData(null, HttpStatusCode.SwitchingProtocols)]
    [InlineData("https://app.example", HttpStatusCode.SwitchingProtocols)]
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)]
    public async Task AllowedOrigins_BrowserFromOtherOrigin_Refused(string? origin, HttpStatusCode expected)
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.AllowedOrigins = ["https://app.example"]);
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        using var timeout = new CancellationTokenSource(Within.Timeout);
        try
        {
            await socket.ConnectAsync(bridge.Uri, timeout.Token);
        }
        catch (WebSocketException)
        {
            // Expected for the refused origin.
        }

        Assert.Equal(expected, socket.HttpStatusCode);
        if (expected == HttpStatusCode.SwitchingProtocols)
        {
            await using var client = new BridgeClientOwner(socket);
        }
    }

    private static async Task<List<JsonElement>> ReceiveUntilAsync(BridgeClient client, Func<JsonElement, bool> stop)
    {
        List<JsonElement> replies = [];
        while (true)
        {
            var reply = await client.ReceiveAsync();
            replies.Add(reply);
            if (stop(reply))
            {
                return replies;
            }
        }
    }

    /// <summary>Closes a raw socket politely at the end of a test.</summary>
    private sealed class BridgeClientOwner(ClientWebSocket socket) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(Within.Timeout);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            socket.Dispose();
        }
    }
}
