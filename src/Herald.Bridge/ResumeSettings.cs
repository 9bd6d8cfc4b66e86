namespace Herald.Bridge;

/// <summary>Reconnecting to the SSE server when its stream drops, as EventSource would.</summary>
public sealed class ResumeSettings
{
    /// <summary>Resume by default; a request's <c>"resume"</c> field overrides this per stream.</summary>
    public bool Enabled { get; set; }
    /// <summary>Reconnect attempts in a row without a new event before the stream fails.</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>Milliseconds to wait before reconnecting when the server never sent <c>retry:</c>.</summary>
    public int DefaultRetry { get; set; } = 3000;
    /// <summary>Upper bound on a server's <c>retry:</c>, so a huge value cannot park a stream forever.</summary>
    public int MaxRetry { get; set; } = 60_000;
    /// <summary>How many recent event ids are remembered to drop replayed duplicates after a reconnect.</summary>
    public int DedupWindow { get; set; } = 1024;
}
