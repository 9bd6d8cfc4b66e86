namespace Herald.Bench.Load;

/// <summary>What a worker says: <c>progress</c> (every half second), <c>stats</c> (a reply) or <c>error</c>.</summary>
internal sealed record WorkerMessage(string Type)
{
    public WorkerCounters? Counters { get; init; }

    public long Expected { get; init; }

    public long[]? Latency { get; init; }

    /// <summary>With <see cref="WorkerCommand.KeepDeliveries"/>: (sent, received) Stopwatch timestamps of each delivery, flattened.</summary>
    public long[]? Deliveries { get; init; }

    public long LatencyMax { get; init; }

    public long[]? ConnectLatency { get; init; }

    public long ConnectLatencyMax { get; init; }

    public Dictionary<string, long>? Failures { get; init; }

    public string? Message { get; init; }
}
