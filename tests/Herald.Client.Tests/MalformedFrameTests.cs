using System.Collections.Concurrent;
using Herald.Client.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Client.Tests;

/// <summary>
/// A server on loopback that writes exact bytes: frames a Herald node never sends must neither end a subscription
/// nor reach the application malformed; the subscription skips them, logs them, reconnects and goes on.
/// </summary>
public sealed class MalformedFrameTests
{
    private const int MalformedEventLogId = 5;

    /// <summary>The frame sent between <c>retry: 20</c> and event 5, and the events expected as <c>type#id</c>.</summary>
    public static TheoryData<string, string[], bool> Frames => new()
    {
        // Spec: an empty event type dispatches as "message" (it threw ArgumentException out of the subscription).
        { "event:\nid: 1\ndata: {}\n\n", ["message#1", "message#5", "message#6"], false },
        // Spec: a block without data resets the event type (the next event came out as "foo").
        { "event: foo\n\nid: 1\ndata: {}\n\n", ["message#1", "message#5", "message#6"], false },
        // A reset the client cannot move its position by (a JsonException ended the subscription; without an id it
        // moved the position to nothing).
        { "event: reset\nid: 1\ndata: {\"reason\":5,\"last_event_id\":1}\n\n", ["message#5", "message#6"], true },
        { "event: reset\ndata: {\"reason\":\"history_trimmed\",\"last_event_id\":1}\n\n", ["message#5", "message#6"], true },
        { "event: reset\nid: 1\ndata: \"not an object\"\n\n", ["message#5", "message#6"], true },
        // Herald's ids are positive integers; anything else is not an event without id.
        { "id: abc\ndata: {}\n\n", ["message#5", "message#6"], true },
        { "id: -3\ndata: {}\n\n", ["message#5", "message#6"], true },
        // An auth-expiring whose refresh is not a string (InvalidOperationException ended the subscription).
        { "event: auth-expiring\ndata: {\"refresh\":5}\n\n", ["auth-expiring#~", "message#5", "message#6"], false },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public async Task Subscribe_MalformedFrame_IsSkippedAndTheSubscriptionGoesOnAndReconnects(string frame, string[] expected, bool logged)
    {
        var lastEventIds = new ConcurrentQueue<string>();
        var connection = 0;
        await using var server = await RawSseServer.StartAsync(async context =>
        {
            lastEventIds.Enqueue(context.Request.Headers["Last-Event-ID"].ToString());
            await RawSseServer.StartEventStreamAsync(context);
            if (Interlocked.Increment(ref connection) == 1)
            {
                // Ends after event 5: the client must reconnect with Last-Event-ID 5.
                await RawSseServer.WriteAsync(context, "retry: 20\n\n" + frame + "id: 5\ndata: {}\n\n");
                return;
            }

            await RawSseServer.WriteAsync(context, "id: 6\ndata: {}\n\n");
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        var logger = new SignalLogger();
        using var client = new HeraldClient(server.BaseAddress, new HeraldClientOptions { Logger = logger, ResolveStartPosition = false });
        var credentials = HeraldCredentials.Operator("token", _ => Task.FromResult("fresh token"));
        await using var events = new EventReader(ct => client.SubscribeTopicsAsync(["t"], credentials, cancellationToken: ct));

        List<string> received = [];
        for (var i = 0; i < expected.Length; i++)
        {
            var evt = await events.NextAsync();
            received.Add($"{evt.Event}#{evt.Id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "~"}");
        }

        Assert.Equal(expected, received);
        Assert.Equal(["", "5"], lastEventIds.Take(2));
        Assert.Equal(logged ? 1 : 0, logger.Count(MalformedEventLogId));
    }

    /// <summary>An HTTP server on 127.0.0.1 and a free port; every request goes to one handler.</summary>
    private sealed class RawSseServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private RawSseServer(WebApplication app) => _app = app;

        public Uri BaseAddress => new(_app.Urls.Single() + "/");

        public static async Task<RawSseServer> StartAsync(RequestDelegate handler)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.Run(handler);
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));
            return new RawSseServer(app);
        }

        public static async Task StartEventStreamAsync(HttpContext context)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.StartAsync(context.RequestAborted);
        }

        public static async Task WriteAsync(HttpContext context, string text)
        {
            await context.Response.WriteAsync(text, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await _app.DisposeAsync();
        }
    }
}
