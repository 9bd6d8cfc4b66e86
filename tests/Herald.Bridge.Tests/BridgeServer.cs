using System.Net.WebSockets;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Herald.Bridge.Tests;

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
