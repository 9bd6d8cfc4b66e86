namespace Herald.Server;

/// <summary><c>Herald:Shutdown</c>: how a node drains on SIGTERM (see <see cref="Operations.GracefulDrain"/>).</summary>
public sealed class ShutdownOptions
{
    /// <summary>
    /// The whole shutdown, from SIGTERM to exit, fits in this. Also the host's shutdown timeout, so a systemd
    /// <c>TimeoutStopSec</c> (or Kubernetes grace period) must be longer.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Smallest <c>retry:</c> an SSE stream gets when the node drains.</summary>
    public int ReconnectMinMilliseconds { get; set; } = 1000;

    /// <summary>Largest <c>retry:</c>; each stream gets a random value in between, so clients come back spread out.</summary>
    public int ReconnectMaxMilliseconds { get; set; } = 3000;
}

/// <summary><c>Herald:Network</c>: the proxies in front of Herald.</summary>
public sealed class NetworkOptions
{
    /// <summary>
    /// Comma-separated addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) whose <c>X-Forwarded-For</c> and
    /// <c>X-Forwarded-Proto</c> Herald believes, so per-IP limits and logs see the real client. Empty: forwarded
    /// headers are ignored. A string rather than an array because the configuration binder appends to array
    /// defaults, which would make loopback impossible to untrust.
    /// </summary>
    public string TrustedProxies { get; set; } = "127.0.0.1, ::1";

    /// <summary>How many trusted proxies a request may have passed through (entries taken from the right of X-Forwarded-For).</summary>
    public int ForwardLimit { get; set; } = 1;
}

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
