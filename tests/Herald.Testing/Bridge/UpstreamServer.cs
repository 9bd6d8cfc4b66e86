using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Testing.Bridge;

/// <summary>An upstream HTTP server on 127.0.0.1 and a free port; every request goes to one handler.</summary>
public sealed class UpstreamServer : IAsyncDisposable
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
