namespace Herald.Bridge;

/// <summary>Seed 004's test SSE server (<c>herald testserver</c>).</summary>
public sealed class TestServerSettings
{
    public int Port { get; set; } = 8081;
    public string Host { get; set; } = "localhost";
    /// <summary>Events per request.</summary>
    public int ResponseCount { get; set; } = 3;
    /// <summary>Milliseconds between two events.</summary>
    public int ResponseDelay { get; set; } = 1000;
}
