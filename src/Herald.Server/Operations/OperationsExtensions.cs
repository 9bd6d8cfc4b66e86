using System.Net;
using System.Text.Encodings.Web;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Operations.Prometheus;
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
        // The whole stop, Kestrel's wait for requests included, fits in the drain timeout.
        services.AddOptions<HostOptions>().Configure<IOptions<HeraldOptions>>((o, herald) => o.ShutdownTimeout = herald.Value.Shutdown.DrainTimeout);
        services.AddHostedService<GracefulDrain>();
        services.AddSingleton<PrometheusExporter>();
        builder.AddHeraldOpenTelemetry();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<HeraldOptions>>((o, herald) => ConfigureForwarding(o, herald.Value.Network));

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
            // HEAD too: uptime checks and load balancers probe with it, and a 405 reads as "the exporter is down".
            // Kestrel sends a HEAD answer's headers and drops its body.
            app.MapMethods(metrics.Path, [HttpMethods.Get, HttpMethods.Head], () => Results.Text(exporter.Scrape(), PrometheusExporter.ContentType))
                .ExcludeFromDescription();
        }
    }

    internal static void ConfigureForwarding(ForwardedHeadersOptions options, NetworkOptions network)
    {
        options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        options.ForwardLimit = Math.Max(1, network.ForwardLimit);
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in ProxyEntries(network.TrustedProxies))
        {
            // HeraldOptionsValidator refused the node's start on an entry that is neither.
            if (TryParseProxy(entry, out var address, out var range))
            {
                if (address is not null)
                {
                    options.KnownProxies.Add(address);
                }
                else
                {
                    options.KnownIPNetworks.Add(range);
                }
            }
        }
    }

    internal static string[] ProxyEntries(string trustedProxies) =>
        trustedProxies.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>An address (<paramref name="address"/> set) or a network such as <c>10.0.0.0/8</c> (<paramref name="range"/>).</summary>
    internal static bool TryParseProxy(string entry, out IPAddress? address, out System.Net.IPNetwork range)
    {
        address = null;
        range = default;
        return entry.Contains('/', StringComparison.Ordinal) ? System.Net.IPNetwork.TryParse(entry, out range) : IPAddress.TryParse(entry, out address);
    }
}
