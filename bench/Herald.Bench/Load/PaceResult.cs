namespace Herald.Bench.Load;

/// <summary>What one paced run sent.</summary>
internal sealed class PaceResult
{
    public long Issued { get; set; }
    public long Succeeded;
    public long Failed;
    /// <summary>Most messages the pacer was behind its schedule at any tick (in-flight limit reached).</summary>
    public long MaxBehind { get; set; }
    public TimeSpan Elapsed { get; set; }
    /// <summary>Request round trips (publisher side), µs.</summary>
    public LatencyHistogram RoundTrip { get; } = new();
}
