using Herald.Server.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Herald.Server.Operations;

/// <summary>
/// OpenTelemetry export, off by default: on when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or its
/// <c>_TRACES_</c> / <c>_METRICS_</c> variant) is set and <c>OTEL_SDK_DISABLED</c> is not <c>true</c>. Traces: Herald's
/// spans (<see cref="HeraldTracing"/>) with ASP.NET Core's and HttpClient's; metrics: the meters <c>/metrics</c>
/// exports (<c>Herald:Metrics:Meters</c>). Every other <c>OTEL_*</c> variable (protocol, headers, service name,
/// sampler, intervals) is the SDK's own. docs/deploy.md, "OpenTelemetry".
/// </summary>
/// <remarks>Off means not registered at all: no listener on Herald's source, so no span is ever started.</remarks>
public static class HeraldTelemetry
{
    internal static void AddHeraldOpenTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (IsTrue(configuration["OTEL_SDK_DISABLED"]))
        {
            return;
        }

        var endpoint = IsSet(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var traces = endpoint || IsSet(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        var metrics = endpoint || IsSet(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        if (!traces && !metrics)
        {
            return;
        }

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "herald"));
        if (traces)
        {
            otel.WithTracing(tracing => tracing.AddHeraldInstrumentation().AddOtlpExporter());
        }

        if (metrics)
        {
            var meters = configuration["Herald:Metrics:Meters"] ?? new MetricsOptions().Meters;
            otel.WithMetrics(m => m.AddMeter(OperationsExtensions.ProxyEntries(meters)).AddRuntimeInstrumentation().AddOtlpExporter());
        }
    }

    /// <summary>
    /// Herald's spans (<c>herald.commit</c>, <c>herald.publish</c>, <c>herald.deliver</c>) and the HTTP requests that
    /// start them. Public so that a host (or a test with an in-memory exporter) traces exactly what Herald exports.
    /// </summary>
    public static TracerProviderBuilder AddHeraldInstrumentation(this TracerProviderBuilder tracing) =>
        tracing.AddSource(HeraldTracing.SourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();

    private static bool IsSet(string? value) => !string.IsNullOrWhiteSpace(value);

    private static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
}
