using System.Text.Json.Serialization;

namespace Herald.Bench.Load;

// The coordinator and its workers speak one JSON object per line: commands on the worker's stdin, progress
// and replies on its stdout (stderr stays free for diagnostics).

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

/// <summary>
/// Connections to open: request targets (SSE: the request path; SignalR: the group to join) and the topic
/// index each one listens to.
/// </summary>
internal sealed record ConnectSpec(int Port, int FirstSource, int PerSource, int MaxPending, int TimeoutMs, string[] Targets, int[] Topics)
{
    public const string Sse = "sse";
    public const string SignalR = "signalr";

    /// <summary><see cref="Sse"/> or <see cref="SignalR"/>.</summary>
    public string Protocol { get; init; } = Sse;
}

/// <summary>What a worker says: <c>progress</c> (every half second), <c>stats</c> (a reply) or <c>error</c>.</summary>
internal sealed record WorkerMessage(string Type)
{
    public WorkerCounters? Counters { get; init; }

    public long Expected { get; init; }

    public long[]? Latency { get; init; }

    public long LatencyMax { get; init; }

    public long[]? ConnectLatency { get; init; }

    public long ConnectLatencyMax { get; init; }

    public Dictionary<string, long>? Failures { get; init; }

    public string? Message { get; init; }
}

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

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WorkerCommand))]
[JsonSerializable(typeof(WorkerMessage))]
internal sealed partial class WorkerJson : JsonSerializerContext;
