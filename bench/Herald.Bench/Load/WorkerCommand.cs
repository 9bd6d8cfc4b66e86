namespace Herald.Bench.Load;

/// <summary>A command to a worker: <c>connect</c>, <c>stats</c> or <c>close</c>.</summary>
internal sealed record WorkerCommand(string Cmd)
{
    public ConnectSpec? Connect { get; init; }

    /// <summary>For <c>stats</c>: messages successfully published so far, per topic index.</summary>
    public long[]? Published { get; init; }

    /// <summary>For <c>stats</c>: include the latency histogram.</summary>
    public bool Histogram { get; init; }

    /// <summary>For <c>stats</c>: clear the latency histogram after reporting it (per-step figures).</summary>
    public bool Reset { get; init; }

    /// <summary>
    /// For <c>stats</c> with <see cref="Reset"/>: from now on also keep each delivery's send and receive timestamps
    /// (up to <c>SseWorker.MaxKeptDeliveries</c>), returned with the next <see cref="Histogram"/> — what a tail
    /// attribution lines up with the server's pauses. Off again at the next reset without it.
    /// </summary>
    public bool KeepDeliveries { get; init; }
}
