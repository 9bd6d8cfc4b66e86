using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Herald.Bench.Load;

/// <summary>
/// Watches the server process over EventPipe (what dotnet-trace and dotnet-counters use): GC start/stop and
/// suspension events for pause times, and the <c>System.Runtime</c> counters for allocation and the thread
/// pool. Lets a scenario say whether its tail latency lines up with GC pauses.
/// </summary>
internal sealed class RuntimeMonitor : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly Task _processing;
    private readonly Lock _gate = new();
    private RuntimeFigures _current = new();
    private double _suspendStartMs = -1;
    private long _suspendStartTicks;
    private readonly List<GcPause> _pauses = [];
    private double _suspendedMs;
    private double _gcStartMs;
    private double _gcStopMs;
    private int _gcDepth;
    private GCReason _gcReason;
    private Dictionary<string, long> _allocations = new(StringComparer.Ordinal);

    // A run's worth (hours of gen0 collections at S3's rate).
    private const int MaxPauses = 100_000;

    // HERALD_BENCH_GC_LOG=1 prints every collection of the server to stderr.
    private static readonly bool LogEach = Environment.GetEnvironmentVariable("HERALD_BENCH_GC_LOG") == "1";

    private RuntimeMonitor(EventPipeSession session)
    {
        _session = session;
        // Its own thread: Process() blocks for the whole session. On the thread pool it held a pool thread for the run
        // (two in S4), and with the worker readers the coordinator's pool ran out of free threads: its pacer and
        // HTTP completions then waited up to ~0.9 s for the pool to add one, and the backlog went out as a burst.
        _processing = Task.Factory.StartNew(Process, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Attaches to <paramref name="pid"/>; null when the runtime's diagnostic port cannot be reached.</summary>
    public static RuntimeMonitor? TryStart(int pid)
    {
        try
        {
            var client = new DiagnosticsClient(pid);
            var providers = new[]
            {
                // Verbose adds GCAllocationTick: one event per ~100 KB allocated, naming the type — an allocation profile.
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC),
                new EventPipeProvider("System.Runtime", EventLevel.Informational, 0,
                    new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" }),
            };
            return new RuntimeMonitor(client.StartEventPipeSession(providers, requestRundown: false));
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            Console.Error.WriteLine($"runtime monitor unavailable: {ex.Message}");
            return null;
        }
    }

    /// <summary>True when the events' raw timestamps turned out not to be Stopwatch ticks (<see cref="PausesBetween"/>).</summary>
    public bool ClockMismatch { get; private set; }

    /// <summary>Managed heap size after the most recent collection, bytes.</summary>
    public long LastHeapBytes { get; private set; }

    /// <summary>How many collections have reported heap statistics so far.</summary>
    public int HeapStatsCount { get; private set; }

    /// <summary>Sampled allocations by type since the last call (about one sample per 100 KB), largest first.</summary>
    public List<KeyValuePair<string, long>> TakeAllocations(int top)
    {
        lock (_gate)
        {
            var list = _allocations.OrderByDescending(kv => kv.Value).Take(top).ToList();
            _allocations = new Dictionary<string, long>(StringComparer.Ordinal);
            return list;
        }
    }

    /// <summary>
    /// Makes the server run a full blocking collection — what dotnet-gcdump does: enabling the runtime's
    /// GCHeapCollect keyword on a session induces one — and waits until its heap statistics arrive here.
    /// Returns the managed heap size after it, or null when that did not work.
    /// </summary>
    public async Task<long?> InduceCollectionAsync(int pid)
    {
        var before = HeapStatsCount;
        try
        {
            var client = new DiagnosticsClient(pid);
            using var session = client.StartEventPipeSession(
                new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)ClrTraceEventParser.Keywords.GCHeapCollect),
                requestRundown: false);
            // Nobody reads this session's stream; the collection's statistics arrive on the monitor's own session.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (HeapStatsCount == before && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }

            await session.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            return null;
        }

        return HeapStatsCount > before ? LastHeapBytes : null;
    }

    /// <summary>
    /// The server's GC pauses that overlap [<paramref name="fromTicks"/>, <paramref name="toTicks"/>] (Stopwatch
    /// timestamps: EventPipe stamps events with the same monotonic clock, <c>CLOCK_MONOTONIC</c> on Linux, so a pause
    /// lines up with the generator's send and receive times). Events arrive a moment late: ask a second after the window.
    /// </summary>
    public List<GcPause>? PausesBetween(long fromTicks, long toTicks)
    {
        lock (_gate)
        {
            if (ClockMismatch)
            {
                Console.Error.WriteLine("runtime monitor: the server's event clock is not Stopwatch's; GC pauses cannot be lined up with deliveries");
                return null;
            }

            return _pauses.Where(p => p.EndTicks >= fromTicks && p.StartTicks <= toTicks).ToList();
        }
    }

    /// <summary>Figures since the last call (or the start), and starts a new interval.</summary>
    public RuntimeFigures TakeInterval()
    {
        lock (_gate)
        {
            var figures = _current;
            _current = new RuntimeFigures();
            return figures;
        }
    }

    private void Process()
    {
        using var source = new EventPipeEventSource(_session.EventStream);

        source.Clr.GCStart += e =>
        {
            lock (_gate)
            {
                _gcDepth = e.Depth;
                _gcReason = e.Reason;
                _gcStartMs = e.TimeStampRelativeMSec;
                if (e.Depth is >= 0 and <= 2)
                {
                    _current.Collections[e.Depth]++;
                }

                if (e.Reason is GCReason.Induced or GCReason.InducedNotForced or GCReason.InducedCompacting)
                {
                    _current.Induced++;
                }
            }
        };
        source.Clr.GCStop += e =>
        {
            lock (_gate)
            {
                _gcStopMs = e.TimeStampRelativeMSec;
            }
        };
        source.Clr.GCHeapStats += e =>
        {
            lock (_gate)
            {
                // Generations 0-2, the large and the pinned object heaps, as left by the collection that just ended.
                LastHeapBytes = e.GenerationSize0 + e.GenerationSize1 + e.GenerationSize2 + e.GenerationSize3 + e.GenerationSize4;
                if (LogEach)
                {
                    Console.Error.WriteLine($"[gc] heap: promoted from gen0 {e.TotalPromotedSize0 / 1024} KB, gen1 {e.TotalPromotedSize1 / 1024} KB; gen0 {e.GenerationSize0 / 1024} KB, gen1 {e.GenerationSize1 / 1024} KB, gen2 {e.GenerationSize2 / 1024} KB, pinned objects {e.PinnedObjectCount}");
                }
                HeapStatsCount++;
            }
        };
        source.Clr.GCMarkWithType += e =>
        {
            // What each kind of root kept alive: cards (older generations pointing in) against stacks and handles.
            if (LogEach && e.Promoted > 0)
            {
                Console.Error.WriteLine($"[gc]   marked from {(MarkRootType)e.Type}: {e.Promoted / 1024} KB");
            }
        };
        source.Clr.GCAllocationTick += e =>
        {
            lock (_gate)
            {
                var type = e.TypeName ?? "?";
                _allocations[type] = _allocations.GetValueOrDefault(type) + e.AllocationAmount64;
            }
        };
        source.Clr.GCSuspendEEStart += e =>
        {
            lock (_gate)
            {
                _suspendStartMs = e.TimeStampRelativeMSec;
                _suspendStartTicks = RawTimestamp(e);
            }
        };
        source.Clr.GCSuspendEEStop += e =>
        {
            lock (_gate)
            {
                _suspendedMs = e.TimeStampRelativeMSec;
            }
        };
        source.Clr.GCRestartEEStop += e =>
        {
            lock (_gate)
            {
                if (_suspendStartMs < 0)
                {
                    return;
                }

                // The pause every thread sees: from the request to suspend to the moment they run again.
                var pause = e.TimeStampRelativeMSec - _suspendStartMs;
                if (LogEach)
                {
                    Console.Error.WriteLine($"[gc] gen{_gcDepth} {_gcReason}: pause {pause:F1} ms (suspending {_suspendedMs - _suspendStartMs:F1} ms, collecting {_gcStopMs - _gcStartMs:F1} ms)");
                }

                _suspendStartMs = -1;
                var end = RawTimestamp(e);
                // The raw stamps are Stopwatch ticks only if the runtime's clock is Stopwatch's: checked on every pause
                // long enough to tell, against the session's own conversion.
                var rawMs = (end - _suspendStartTicks) * 1000.0 / Stopwatch.Frequency;
                if (pause > 1 && Math.Abs(rawMs - pause) > pause * 0.05)
                {
                    ClockMismatch = true;
                }

                if (_pauses.Count < MaxPauses)
                {
                    _pauses.Add(new GcPause(_suspendStartTicks, end, _gcDepth));
                }

                _current.TotalPauseMs += pause;
                if (pause > 10)
                {
                    _current.PausesOver10Ms++;
                }

                if (pause > _current.MaxPauseMs)
                {
                    _current.MaxPauseMs = pause;
                    _current.MaxPauseGeneration = _gcDepth;
                }
            }
        };
        source.Dynamic.All += e =>
        {
            // EventCounters events carry one field whose value holds the counter's own "Payload" dictionary.
            if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer
                || !outer.TryGetValue("Payload", out var inner) || inner is not IDictionary<string, object> payload
                || !payload.TryGetValue("Name", out var nameObject) || nameObject is not string name)
            {
                return;
            }

            var value = payload.TryGetValue("Increment", out var inc) ? Convert.ToDouble(inc, System.Globalization.CultureInfo.InvariantCulture)
                : payload.TryGetValue("Mean", out var mean) ? Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture) : 0;
            lock (_gate)
            {
                switch (name)
                {
                    case "alloc-rate":
                        _current.AllocatedMb += value / (1024 * 1024);
                        break;
                    case "threadpool-thread-count":
                        _current.ThreadPoolThreadsMax = Math.Max(_current.ThreadPoolThreadsMax, (long)value);
                        break;
                    case "threadpool-queue-length":
                        _current.ThreadPoolQueueMax = Math.Max(_current.ThreadPoolQueueMax, value);
                        break;
                    default:
                        break;
                }
            }
        };
        try
        {
            source.Process();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or EndOfStreamException)
        {
            // The server went away or the session was stopped.
        }
    }

    // EventPipe stamps events with the runtime's high-resolution clock: CLOCK_MONOTONIC in nanoseconds on Linux, the
    // clock Stopwatch reads in every process. TraceEvent discourages the raw value (its unit is the trace's); the
    // pauses check it against the session's own conversion (ClockMismatch).
#pragma warning disable CS0618
    private static long RawTimestamp(TraceEvent e) => e.TimeStampQPC;
#pragma warning restore CS0618

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or IOException or TimeoutException or EndOfStreamException)
        {
        }

        await Task.WhenAny(_processing, Task.Delay(5000));
        _session.Dispose();
    }
}

/// <summary>One GC pause of the server: from the request to suspend to the restart, in Stopwatch timestamps.</summary>
internal readonly record struct GcPause(long StartTicks, long EndTicks, int Generation);
