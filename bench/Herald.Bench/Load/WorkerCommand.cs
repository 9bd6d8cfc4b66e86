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
}
