using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Bridge;
using Herald.Cli.Seed004;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Bridge.Tests;

/// <summary>Seed 004's protocol, end to end: a WebSocket client, the bridge, and an SSE server, all on loopback.</summary>
public sealed class BridgeProtocolTests
{
    [Fact]
    public async Task SeedRequest_TestServer_RelaysConnectedEventsLegacyDataAndClosed()
    {
        await using var server = await StartTestServerAsync(responseCount: 3);
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync(TestBridgeClient.BuildRequest(server.Settings, "Hello Server! #1"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "data", "sse-event", "data", "sse-event", "data", "closed"], replies.Select(r => r.Type()));
        Assert.All(replies, r => Assert.False(r.TryGetProperty("id", out _), "seed replies carry no id"));
        var connected = replies[0].Payload();
        Assert.Equal(200, connected.GetProperty("status").GetInt32());
        Assert.Equal("text/event-stream", connected.GetProperty("headers").Str("content-type"));
        Assert.Equal("no-cache", connected.GetProperty("headers").Str("cache-control"));
        Assert.Equal("Test SSE Server", connected.GetProperty("headers").Str("x-server-name"));

        var events = replies.Where(r => r.Type() == "sse-event").Select(r => r.Payload()).ToList();
        Assert.Equal(["message", "user-message", "final-message"], events.Select(e => e.Str("event")));
        Assert.All(events, (e, i) => Assert.Matches($"^echo-\\d+-{i + 1}$", e.Str("id")));
        Assert.Equal([JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.String], events.Select(e => e.GetProperty("retry").ValueKind));
        Assert.Equal("5000", events[2].Str("retry"));
        using var data = JsonDocument.Parse(events[0].Str("data")!);
        Assert.Equal("echo", data.RootElement.Str("type"));
        Assert.Equal("Hello Server! #1", data.RootElement.Str("originalMessage"));
        Assert.Equal("Echo 1/3: Hello Server! #1", data.RootElement.Str("response"));
        Assert.Equal(1, data.RootElement.GetProperty("sequence").GetInt32());

        // The legacy message carries exactly the data string of the sse-event before it.
        for (var i = 1; i < replies.Count - 1; i += 2)
        {
            Assert.Equal(replies[i].Payload().Str("data"), replies[i + 1].Payload().GetString());
        }

        Assert.Equal("Server closed connection normally.", replies[^1].Payload().Str("reason"));
    }

    [Fact]
    public async Task TestClient_AgainstBridgeAndTestServer_PrintsSeedTranscript()
    {
        await using var server = await StartTestServerAsync(responseCount: 3);
        await using var bridge = await BridgeServer.StartAsync();
        var settings = new BridgeSettings
        {
            TestServer = server.Settings,
            TestClient = new TestClientSettings { Message = "Hello Server!", MaxMessages = 2, SendDelay = 10 },
        };
        var output = new StringWriter();
        using var timeout = new CancellationTokenSource(Within.Timeout);

        var exit = await TestBridgeClient.RunAsync(settings, bridge.Uri, null, output, timeout.Token);

        var text = output.ToString();
        Assert.Equal(0, exit);
        Assert.StartsWith("✅ Connected to Proxy WebSocket\n📋 Будет отправлено 2 сообщения\n📤 #1: Hello Server! #1\n✅ Connected to server (200)\n📥 SSE Event [message]:\n   🆔 ID: echo-", text, StringComparison.Ordinal);
        Assert.Contains("📥 SSE Event [final-message]:\n   🆔 ID: echo-", text, StringComparison.Ordinal);
        Assert.Contains("   🔄 Retry: 5000ms\n   📝 Data: Echo 3/3: Hello Server! #2\n🔚 Server closed: Server closed connection normally.\n", text, StringComparison.Ordinal);
        Assert.EndsWith("✅ Отправлено 2 сообщения. Завершение теста.\n", text, StringComparison.Ordinal);
        Assert.Equal(2, text.Split("🔚 Server closed").Length - 1);
    }

    [Fact]
    public async Task LegacyDataOff_SendsOnlySseEvents()
    {
        await using var server = await StartTestServerAsync(responseCount: 2);
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync(TestBridgeClient.BuildRequest(server.Settings, "x"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "sse-event", "closed"], replies.Select(r => r.Type()));
    }

    [Fact]
    public async Task SecondRequestWhileStreaming_IsQueued_AndRunsAfterFirstCloses()
    {
        await using var server = await StartTestServerAsync(responseCount: 2, responseDelay: 100);
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync(TestBridgeClient.BuildRequest(server.Settings, "first"));
        await client.SendTextAsync(TestBridgeClient.BuildRequest(server.Settings, "second"));
        var first = await client.ReceiveUntilEndAsync();
        var second = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "sse-event", "closed"], first.Select(r => r.Type()));
        Assert.Equal(["connected", "sse-event", "sse-event", "closed"], second.Select(r => r.Type()));
        Assert.All(first.Where(r => r.Type() == "sse-event"), r => Assert.Contains("\"originalMessage\":\"first\"", r.Payload().Str("data"), StringComparison.Ordinal));
        Assert.All(second.Where(r => r.Type() == "sse-event"), r => Assert.Contains("\"originalMessage\":\"second\"", r.Payload().Str("data"), StringComparison.Ordinal));
    }

    [Fact]
    public async Task QueueFull_RefusesTheExtraRequest_WithError()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Limits.MaxQueuedRequests = 1);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/a"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        await client.SendAsync(upstream.Request("/b"));
        await client.SendAsync(upstream.Request("/c"));
        var refused = await client.ReceiveAsync();

        Assert.Equal("error", refused.Type());
        Assert.Contains("maxQueuedRequests", refused.Message(), StringComparison.Ordinal);
        release.SetResult();
        Assert.Equal("closed", (await client.ReceiveAsync()).Type());
        Assert.Equal(["connected", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
    }

    [Theory]
    [InlineData("{not json", "Malformed request: not valid JSON")]
    [InlineData("[1,2]", "Malformed request: expected a JSON object.")]
    [InlineData("{\"protocol\":\"http\"}", "'address' is required")]
    [InlineData("{\"address\":\"127.0.0.1\",\"port\":70000}", "'port' must be a number from 1 to 65535")]
    [InlineData("{\"address\":\"127.0.0.1\",\"method\":\"TRACE\"}", "'method' 'TRACE' is not one of")]
    [InlineData("{\"address\":\"a b\"}", "is not a host name or IP address")]
    [InlineData("{\"address\":\"127.0.0.1\",\"headers\":{\"X-A\":\"1\\r\\nX-B: 2\"}}", "contains CR, LF or NUL")]
    [InlineData("{\"address\":\"127.0.0.1\",\"headers\":[\"x\"]}", "'headers' must be an object")]
    [InlineData("{\"address\":\"127.0.0.1\",\"id\":{\"a\":1}}", "'id' must be a string or a number")]
    [InlineData("{\"type\":\"subscribe\",\"id\":\"s\"}", "Unknown message type 'subscribe'")]
    public async Task MalformedMessage_RepliesError_AndKeepsTheSocketUsable(string message, string expected)
    {
        await using var server = await StartTestServerAsync(responseCount: 1);
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync(message);
        var error = await client.ReceiveAsync();

        Assert.Equal("error", error.Type());
        Assert.Contains(expected, error.Message(), StringComparison.Ordinal);
        await client.SendTextAsync(TestBridgeClient.BuildRequest(server.Settings, "still works"));
        Assert.Equal("closed", (await client.ReceiveUntilEndAsync())[^1].Type());
    }

    /// <summary>A valid request followed by anything but whitespace is refused whole; its upstream is never contacted.</summary>
    [Theory]
    [InlineData(" garbage")]
    [InlineData("{\"address\":\"127.0.0.1\"}")]
    [InlineData("\u2028")]
    public async Task Request_WithDataAfterTheJsonValue_RepliesErrorWithoutConnecting(string extra)
    {
        var requests = 0;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            Interlocked.Increment(ref requests);
            await UpstreamServer.StartEventStreamAsync(context);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Allow.Networks = ["loopback"]);
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync(JsonSerializer.Serialize(upstream.Request("/")) + extra);
        var error = await client.ReceiveAsync();
        await client.SendTextAsync(JsonSerializer.Serialize(upstream.Request("/")) + " \r\n\t");
        var connected = await client.ReceiveAsync();

        Assert.Equal("error", error.Type());
        Assert.Contains("Malformed request: not valid JSON", error.Message(), StringComparison.Ordinal);
        Assert.Equal("connected", connected.Type());
        Assert.Equal(1, Volatile.Read(ref requests));
    }

    [Fact]
    public async Task MalformedMessage_WhileAnotherStreamRuns_DoesNotDisturbIt()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: one\n\n");
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
            await UpstreamServer.WriteAsync(context, "data: two\n\n");
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/", id: "s"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        Assert.Equal("one", (await client.ReceiveAsync()).Payload().Str("data"));
        await client.SendTextAsync("}}garbage");
        Assert.Equal("error", (await client.ReceiveAsync()).Type());
        release.SetResult();

        var rest = await client.ReceiveUntilEndAsync();
        Assert.Equal(["sse-event", "closed"], rest.Select(r => r.Type()));
        Assert.Equal("two", rest[0].Payload().Str("data"));
        Assert.All(rest, r => Assert.Equal("\"s\"", r.Id()));
    }

    [Fact]
    public async Task BinaryMessage_RepliesError()
    {
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.Socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None).WaitAsync(Within.Timeout);

        Assert.Contains("Binary messages are not supported", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessageOverLimit_ClosesWith1009()
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.Limits.MaxMessageBytes = 2048);
        await using var client = await bridge.ConnectAsync();

        await client.SendTextAsync("{\"address\":\"" + new string('a', 4000) + "\"}");

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task BodyOverLimit_RepliesError()
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.Limits.MaxBodyBytes = 10);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { address = "127.0.0.1", port = 9, method = "POST", body = new { text = "longer than ten bytes" } });

        Assert.Contains("maxBodyBytes", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestFields_ReachUpstream_MethodPathQueryBodyAndAllowedHeadersOnly()
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
            var headers = context.Request.Headers;
            seen.SetResult($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} body={body} " +
                $"ct={headers.ContentType} auth={headers.Authorization} accept={headers.Accept} x-secret={headers["X-Secret"]} host={headers.Host}");
            await UpstreamServer.StartEventStreamAsync(context);
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/stream?x=1&y=%20", method: "put", body: new { a = 1 },
            headers: new Dictionary<string, string> { ["Authorization"] = "Bearer up", ["X-Secret"] = "no", ["Host"] = "evil.example" }));
        await client.ReceiveUntilEndAsync();

        Assert.Equal(
            $"PUT /stream?x=1&y=%20 body={{\"a\":1}} ct=application/json auth=Bearer up accept=text/event-stream x-secret= host=127.0.0.1:{upstream.Port}",
            await seen.Task.WaitAsync(Within.Timeout));
    }

    [Fact]
    public async Task ForwardHeadersSetting_AllowsPrefixPattern()
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            seen.SetResult($"{context.Request.Headers["X-Trace-Id"]}|{context.Request.Headers.Authorization}");
            await UpstreamServer.StartEventStreamAsync(context);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.ForwardHeaders = ["X-Trace-*"]);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/", headers: new Dictionary<string, string> { ["X-Trace-Id"] = "t1", ["Authorization"] = "Bearer x" }));
        await client.ReceiveUntilEndAsync();

        Assert.Equal("t1|", await seen.Task.WaitAsync(Within.Timeout));
    }

    [Theory]
    [InlineData(404, "text/html", "<h1>nope</h1>")]
    [InlineData(500, "text/plain", "boom")]
    [InlineData(200, "application/json", "{\"not\":\"sse\"}")]
    public async Task NonSseAnswer_RepliesErrorWithStatusAndBodyPreview(int status, string contentType, string body)
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync(body + new string('x', 2000));
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        var error = Assert.Single(replies);
        Assert.Equal("error", error.Type());
        Assert.Equal(status, error.Payload().GetProperty("status").GetInt32());
        var preview = error.Payload().Str("body")!;
        Assert.Equal(512, Encoding.UTF8.GetByteCount(preview));
        Assert.StartsWith(body, preview, StringComparison.Ordinal);
        Assert.Contains($"answered {status}", error.Message(), StringComparison.Ordinal);
        Assert.Contains(contentType, error.Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleUpstream_WithSseTimeout_RepliesError()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: first\n\n");
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.SseTimeout = 300);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var replies = await client.ReceiveUntilEndAsync();

        Assert.Equal(["connected", "sse-event", "data", "error"], replies.Select(r => r.Type()));
        Assert.Contains("No data from the SSE server for 300 ms", replies[^1].Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamResetMidStream_RepliesError()
    {
        var relayed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: first\n\n");
            // A reset discards unread bytes at the receiver, so abort only once the event has been relayed.
            await relayed.Task.WaitAsync(Within.Timeout);
            context.Abort();
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.LegacyData = false);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());
        Assert.Equal("first", (await client.ReceiveAsync()).Payload().Str("data"));
        relayed.SetResult();
        var error = await client.ReceiveAsync();

        Assert.Equal("error", error.Type());
        Assert.Contains("lost", error.Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableUpstream_RepliesError()
    {
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "127.0.0.1", port = LoopbackPort.GetFree(), path = "/" });

        Assert.Contains("Could not", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlainHttpRequest_ToTheEndpoint_Gets400()
    {
        await using var bridge = await BridgeServer.StartAsync();
        using var http = new HttpClient();

        var response = await http.GetAsync(new Uri($"http://{bridge.Uri.Authority}/proxy")).WaitAsync(Within.Timeout);

        Assert.Equal(400, (int)response.StatusCode);
    }

    internal static async Task<RunningTestServer> StartTestServerAsync(int responseCount, int responseDelay = 10)
    {
        var settings = new TestServerSettings { Host = "127.0.0.1", Port = 0, ResponseCount = responseCount, ResponseDelay = responseDelay };
        var app = TestSseServer.Build(settings, TextWriter.Null, builder => builder.Logging.ClearProviders());
        await app.StartAsync().WaitAsync(Within.Timeout);
        settings.Port = new Uri(app.Urls.Single()).Port;
        return new RunningTestServer(app, settings);
    }

    internal sealed class RunningTestServer(WebApplication app, TestServerSettings settings) : IAsyncDisposable
    {
        public TestServerSettings Settings { get; } = settings;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync().WaitAsync(Within.Timeout);
            await app.DisposeAsync();
        }
    }
}
