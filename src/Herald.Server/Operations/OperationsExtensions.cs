using System.Net;
using System.Text.Encodings.Web;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Diagnostics.Prometheus;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Herald.Server.Operations;

/// <summary>
/// Running Herald in production: graceful drain, forwarded headers from trusted proxies, <c>/metrics</c>, and
/// JSON console logs that keep non-ASCII text (<c>WIDGET→ADMIN</c>, Cyrillic) greppable. docs/deploy.md.
/// </summary>
public static class OperationsExtensions
{
    public static void AddHeraldOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var herald = builder.Configuration.GetSection("Herald");
        var shutdown = herald.GetSection("Shutdown").Get<ShutdownOptions>() ?? new ShutdownOptions();
        var network = herald.GetSection("Network").Get<NetworkOptions>() ?? new NetworkOptions();
        if (shutdown.DrainTimeout <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("Herald:Shutdown:DrainTimeout must be positive, e.g. 00:00:10.");
        }

        // The whole stop, Kestrel's wait for requests included, fits in the drain timeout.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdown.DrainTimeout);
        services.AddHostedService<GracefulDrain>();
        services.AddSingleton<PrometheusExporter>();
        services.Configure<ForwardedHeadersOptions>(o => ConfigureForwarding(o, network));

        // The default encoder escapes every non-ASCII character, so `grep "WIDGET→ADMIN"` would find nothing in JSON logs.
        services.Configure<JsonConsoleFormatterOptions>(o =>
            o.JsonWriterOptions = o.JsonWriterOptions with { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>First in the pipeline: everything after it (limits, CORS, logs) sees the client's address.</summary>
    public static void UseHeraldForwardedHeaders(this WebApplication app)
    {
        var forwarding = app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        // With no known proxy at all the middleware would believe anyone: an empty list means "off".
        if (forwarding.KnownProxies.Count > 0 || forwarding.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }
    }

    public static void MapHeraldOperations(this WebApplication app)
    {
        var bus = app.Services.GetRequiredService<IEventBus>();
        app.Services.GetRequiredService<HeraldMetrics>().ObserveRedis(() => bus.State, () => bus is RedisBus redis ? redis.ReconnectCount : 0);

        var metrics = app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value.Metrics;
        if (metrics.Enabled)
        {
            // Created now, not at the first scrape, so counters count from the start.
            var exporter = app.Services.GetRequiredService<PrometheusExporter>();
            app.MapGet(metrics.Path, () => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType))
                .ExcludeFromDescription();
        }
    }

    internal static void ConfigureForwarding(ForwardedHeadersOptions options, NetworkOptions network)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.ForwardLimit = Math.Max(1, network.ForwardLimit);
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in network.TrustedProxies.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(entry, out var range))
            {
                options.KnownIPNetworks.Add(range);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                options.KnownProxies.Add(address);
            }
            else
            {
                throw new InvalidOperationException(
                    $"Herald:Network:TrustedProxies has '{entry}', which is neither an IP address nor a network such as 10.0.0.0/8.");
            }
        }
    }
}
