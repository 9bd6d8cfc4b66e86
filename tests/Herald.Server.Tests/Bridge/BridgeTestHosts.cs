using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Server.Bridge;
using Herald.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Server.Tests.Bridge;

/// <summary>Bounds for every await in the bridge tests: generous for a loaded 2-core machine, short enough to fail fast.</summary>
internal static class Within
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
}

/// <summary>An in-process bridge on 127.0.0.1 and a free port.</summary>
internal sealed class BridgeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BridgeServer(WebApplication app, Uri uri)
    {
        _app = app;
        Uri = uri;
    }

    /// <summary><c>ws://127.0.0.1:PORT/proxy</c>.</summary>
    public Uri Uri { get; }

    // logs: receives the bridge's log entries; none are kept without it.
    public static async Task<BridgeServer> StartAsync(Action<ProxySettings>? configure = null, HostResolver? resolver = null, LogCapture? logs = null)
    {
        var settings = new ProxySettings { Host = "127.0.0.1", Port = 0 };
        configure?.Invoke(settings);
        var app = BridgeHost.Build(settings, builder =>
        {
            builder.Logging.ClearProviders();
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        }, resolver);
        await app.StartAsync().WaitAsync(Within.Timeout);
        var http = new Uri(app.Urls.Single());
        return new BridgeServer(app, new Uri($"ws://{http.Authority}{settings.Path}"));
    }

    public async Task<BridgeClient> ConnectAsync(string? query = null, Action<ClientWebSocketOptions>? options = null) =>
        await BridgeClient.ConnectAsync(query is null ? Uri : new Uri(Uri + query), options);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Within.Timeout);
        await _app.DisposeAsync();
    }
}

/// <summary>A seed-004 client: sends JSON text, receives replies as parsed JSON, every receive bounded in time.</summary>
internal sealed class BridgeClient : IAsyncDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    private BridgeClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static async Task<BridgeClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? options = null, HttpMessageInvoker? invoker = null)
    {
        var socket = new ClientWebSocket();
        options?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(Within.Timeout);
        await socket.ConnectAsync(uri, invoker, timeout.Token);
        return new BridgeClient(socket);
    }

    public Task SendAsync(object request) => SendTextAsync(JsonSerializer.Serialize(request));

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Within.Timeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>The next reply, or throws when none arrives in time or the bridge closes the socket.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? Within.Timeout);
        _buffer.ResetWrittenCount();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(_buffer.GetMemory(8192), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The bridge closed the socket: {Socket.CloseStatus} {Socket.CloseStatusDescription}");
            }

            _buffer.Advance(result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(_buffer.WrittenMemory).RootElement.Clone();
    }

    /// <summary>Replies up to and including the first <c>closed</c> or <c>error</c>.</summary>
    public async Task<List<JsonElement>> ReceiveUntilEndAsync()
    {
        List<JsonElement> replies = [];
        while (true)
        {
            var reply = await ReceiveAsync();
            replies.Add(reply);
            if (reply.Type() is "closed" or "error")
            {
                return replies;
            }
        }
    }

    /// <summary>Waits for the bridge's close frame; returns its status.</summary>
    public async Task<WebSocketCloseStatus?> ReceiveCloseAsync()
    {
        using var timeout = new CancellationTokenSource(Within.Timeout);
        var buffer = new byte[8192];
        while (true)
        {
            var result = await Socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return Socket.CloseStatus;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                // Open: close and wait for the bridge's answer. CloseReceived: the bridge closed first; answer it.
                var close = Socket.State == WebSocketState.Open
                    ? Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token)
                    : Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                await close;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                Socket.Abort();
            }
        }

        Socket.Dispose();
    }
}

/// <summary>An upstream HTTP server on 127.0.0.1 and a free port; every request goes to one handler.</summary>
internal sealed class UpstreamServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private UpstreamServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<UpstreamServer> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync().WaitAsync(Within.Timeout);
        return new UpstreamServer(app, new Uri(app.Urls.Single()).Port);
    }

    /// <summary>A seed request for <c>http://127.0.0.1:PORT{path}</c>.</summary>
    public Dictionary<string, object?> Request(string path, object? id = null, string method = "GET", object? body = null, object? headers = null)
    {
        var request = new Dictionary<string, object?>
        {
            ["protocol"] = "http",
            ["address"] = "127.0.0.1",
            ["port"] = Port,
            ["path"] = path,
            ["method"] = method,
            ["headers"] = headers ?? new Dictionary<string, string>(),
            ["body"] = body,
        };
        if (id is not null)
        {
            request["id"] = id;
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Within.Timeout);
        await _app.DisposeAsync();
    }

    /// <summary>Writes raw SSE text and flushes, as a server sending one event at a time does.</summary>
    public static async Task WriteAsync(HttpContext context, string text)
    {
        await context.Response.WriteAsync(text, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    public static async Task StartEventStreamAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}

internal static class ReplyExtensions
{
    public static string? Type(this JsonElement reply) => reply.GetProperty("type").GetString();

    public static JsonElement Payload(this JsonElement reply) => reply.GetProperty("payload");

    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The reply's <c>id</c> as raw JSON, or null when untagged.</summary>
    public static string? Id(this JsonElement reply) => reply.TryGetProperty("id", out var id) ? id.GetRawText() : null;

    public static string Message(this JsonElement reply) => reply.Payload().Str("message") ?? "";
}

internal static class FreePort
{
    /// <summary>A loopback port that was free a moment ago, for processes that cannot bind port 0 and report it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
