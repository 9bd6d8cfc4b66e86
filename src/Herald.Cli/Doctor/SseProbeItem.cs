using System.Diagnostics;

namespace Herald.Cli.Doctor;

/// <summary>What the probe saw on the stream, and when (<see cref="Stopwatch"/> ticks).</summary>
internal sealed record SseProbeItem(SseProbeItem.Kinds Kind, long Timestamp, string? Id = null, string? EventType = null, string? Data = null, int? Retry = null)
{
    public enum Kinds
    {
        /// <summary>A <c>retry:</c> field (reported as soon as its line ends).</summary>
        Retry,

        /// <summary>A comment line such as <c>: heartbeat</c>.</summary>
        Comment,

        /// <summary>A dispatched event.</summary>
        Event,

        /// <summary>The server (or a proxy) ended the stream.</summary>
        End,
    }
}
