using Herald.Bench.Load;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Bench.Targets;

/// <summary>
/// The .NET peer of the comparison (<c>Herald.Bench signalr-server --port N</c>): a minimal ASP.NET Core
/// SignalR server, as the documentation would have one written. Clients connect to <c>/hub</c> (WebSockets
/// only, JSON hub protocol) and invoke <c>Join(group)</c>; <c>POST /publish?group=G</c> with the message as its
/// body sends <c>message(text)</c> to the group through <see cref="IHubContext{THub}"/> and answers once the
/// lifetime manager has written it to every member.
/// </summary>
/// <remarks>
/// It runs in the bench's own process image, so it has the bench's GC settings — workstation, concurrent,
/// as Herald's server (see Herald.Bench.csproj). SignalR's defaults otherwise: 15 s keep-alive ping (as Herald's
/// heartbeat), 30 s client timeout. Logging at Warning, so no per-request log lines.
/// </remarks>
internal static class SignalRBenchServer
{
    private static long _connections;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var port = options.Int("port", 0);
        if (port <= 0)
        {
            await Console.Error.WriteLineAsync("signalr-server needs --port N.");
            return 2;
        }

        var limits = Native.RaiseOpenFilesLimit();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSignalR();
        var app = builder.Build();
        app.UseWebSockets();
        app.MapHub<BenchHub>(SignalRConnection.HubPath, o => o.Transports = HttpTransportType.WebSockets);
        app.MapPost("/publish", async (string group, HttpRequest request, IHubContext<BenchHub> hub) =>
        {
            using var reader = new StreamReader(request.Body);
            var text = await reader.ReadToEndAsync();
            await hub.Clients.Group(group).SendAsync("message", text);
            return Results.Created();
        });
        app.MapGet("/health", () => Results.Text("ok"));
        app.MapGet("/stats", () => Results.Json(new Dictionary<string, long> { ["active_connections"] = Interlocked.Read(ref _connections) }));
        Console.WriteLine($"SignalR bench server on 127.0.0.1:{port}, open files limit {limits.Soft}");
        await app.RunAsync();
        return 0;
    }

    /// <summary>The hub: clients join groups; messages come from <c>/publish</c>, not from clients.</summary>
    internal sealed class BenchHub : Hub
    {
        public Task Join(string group) => Groups.AddToGroupAsync(Context.ConnectionId, group);

        public override Task OnConnectedAsync()
        {
            Interlocked.Increment(ref _connections);
            return Task.CompletedTask;
        }

        public override Task OnDisconnectedAsync(Exception? exception)
        {
            Interlocked.Decrement(ref _connections);
            return Task.CompletedTask;
        }
    }
}
