namespace Herald.Bridge;

/// <summary>The standalone bridge of <c>herald bridge</c>: Kestrel on <c>proxy.host:proxy.port</c>, the bridge at <c>proxy.path</c>.</summary>
public static class BridgeHost
{
    /// <summary>Builds (does not start) the standalone bridge.</summary>
    /// <param name="settings">The <c>proxy</c> section.</param>
    /// <param name="configure">Last say over the builder (logging, test overrides).</param>
    /// <exception cref="BridgeSettingsException">The settings are invalid.</exception>
    public static WebApplication Build(ProxySettings settings, Action<WebApplicationBuilder>? configure = null) =>
        Build(settings, configure, resolver: null);

    internal static WebApplication Build(ProxySettings settings, Action<WebApplicationBuilder>? configure, HostResolver? resolver)
    {
        _ = BridgePolicy.Compile(settings);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(ListenUrl(settings.Host, settings.Port));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        // Open sockets get a 1012 close at shutdown; a client that never answers it must not hold the process.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapBridge(settings.Path, settings, BridgeMode.Standalone, new BridgeHostServices(Resolver: resolver));
        app.MapGet("/health", () => Results.Text("ok\n"));
        return app;
    }

    /// <summary><c>http://host:port</c>, bracketing an IPv6 literal.</summary>
    public static string ListenUrl(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"http://[{host}]:{port}" : $"http://{host}:{port}";
}
