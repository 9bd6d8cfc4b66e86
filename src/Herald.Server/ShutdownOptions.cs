namespace Herald.Server;

/// <summary><c>Herald:Shutdown</c>: how a node drains on SIGTERM (see <c>Operations/GracefulDrain</c>).</summary>
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
