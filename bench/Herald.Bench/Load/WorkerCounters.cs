namespace Herald.Bench.Load;

/// <summary>Cumulative counters of one worker.</summary>
internal sealed record WorkerCounters
{
    public long Requested { get; init; }
    public long Established { get; init; }
    public long Failed { get; init; }
    /// <summary>Established connections that ended (server closed or reset them).</summary>
    public long Closed { get; init; }
    public long Received { get; init; }
    public long Duplicates { get; init; }
    public long Misrouted { get; init; }
    public long OutOfOrder { get; init; }
    public long Heartbeats { get; init; }
    public long Bytes { get; init; }
    /// <summary>Longest time any established connection went without a byte, ms.</summary>
    public long MaxSilenceMs { get; init; }
    /// <summary>This worker's own CPU time, ms.</summary>
    public long CpuMs { get; init; }
}
