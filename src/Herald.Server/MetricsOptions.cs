namespace Herald.Server;

/// <summary><c>Herald:Metrics</c>: the Prometheus endpoint.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve <see cref="Path"/>. Keep it off the public internet (deploy/nginx.conf denies it).</summary>
    public bool Enabled { get; set; } = true;

    public string Path { get; set; } = "/metrics";

    /// <summary>
    /// Meters exported: Herald's own, the runtime's (GC, thread pool, CPU) and ASP.NET Core's request metrics.
    /// Add <c>Microsoft.AspNetCore.Server.Kestrel</c> for connection-level metrics.
    /// </summary>
    /// <remarks>Comma-separated, for the same reason as <see cref="NetworkOptions.TrustedProxies"/>.</remarks>
    public string Meters { get; set; } = "Herald, System.Runtime, Microsoft.AspNetCore.Hosting";
}
