namespace Herald.Bench.Load;

/// <summary>What all workers together report.</summary>
internal sealed class PoolStats
{
    public long Requested { get; set; }
    public long Established { get; set; }
    public long Failed { get; set; }
    public long Closed { get; set; }
    public long Expected { get; set; }
    public long Received { get; set; }
    public long Duplicates { get; set; }
    public long Misrouted { get; set; }
    public long OutOfOrder { get; set; }
    public long Heartbeats { get; set; }
    public long Bytes { get; set; }
    public long MaxSilenceMs { get; set; }
    public long CpuMs { get; set; }
    public LatencyHistogram Latency { get; } = new();
    public LatencyHistogram ConnectLatency { get; } = new();

    /// <summary>(sent, received) Stopwatch timestamps of the deliveries kept (<see cref="WorkerCommand.KeepDeliveries"/>), flattened.</summary>
    public List<long> Deliveries { get; } = [];
    public Dictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

    public void Add(WorkerMessage message)
    {
        var c = message.Counters!;
        Requested += c.Requested;
        Established += c.Established;
        Failed += c.Failed;
        Closed += c.Closed;
        Received += c.Received;
        Duplicates += c.Duplicates;
        Misrouted += c.Misrouted;
        OutOfOrder += c.OutOfOrder;
        Heartbeats += c.Heartbeats;
        Bytes += c.Bytes;
        MaxSilenceMs = Math.Max(MaxSilenceMs, c.MaxSilenceMs);
        CpuMs += c.CpuMs;
        Expected += message.Expected;
        Latency.AddSparse(message.Latency, message.LatencyMax);
        ConnectLatency.AddSparse(message.ConnectLatency, message.ConnectLatencyMax);
        Deliveries.AddRange(message.Deliveries ?? []);
        foreach (var (reason, count) in message.Failures ?? [])
        {
            Failures[reason] = Failures.GetValueOrDefault(reason) + count;
        }
    }
}
