using System.Diagnostics;
using System.Text.Json.Nodes;
using Herald.Bench.Load;

namespace Herald.Bench.Report;

/// <summary>
/// What the slowest deliveries of a window had in common, from outside the server: each delivery kept by the workers
/// (<see cref="WorkerCommand.KeepDeliveries"/>: sent and received on the machine's monotonic clock) is lined up with
/// the server's GC pauses (<see cref="RuntimeMonitor.PausesBetween"/>, same clock) and with its own POST's round trip.
/// </summary>
/// <remarks>
/// A delivery over p99 is put in the first of three places that fits: it was in flight across a GC pause of the
/// server; else its POST took at least half as long as the delivery ("with their POST as slow", <c>write_side</c> in
/// the JSON: something held both back before the event left — the request, the commit, the machine); else its POST
/// had long returned ("after their POST returned", <c>delivery_side</c>: fan-out, the socket, the subscriber's read).
/// The same shares for the deliveries between p50 and p90 say what is ordinary (there every POST is as slow as its
/// delivery: the event and the response both leave at the commit): a tail cause is one much more common in the tail.
/// </remarks>
internal static class TailAttribution
{
    public static void Report(ScenarioResult result, string label, string key, LatencyHistogram latency, List<long> deliveries,
        List<GcPause>? pauses, IReadOnlyDictionary<long, long> postEnds, long fromTicks, long toTicks)
    {
        if (deliveries.Count < 2 || latency.Count == 0)
        {
            result.Notes.Add($"{label}: no deliveries were kept, nothing to attribute");
            return;
        }

        var gcKnown = pauses is not null;
        pauses ??= [];
        pauses.Sort((a, b) => a.StartTicks.CompareTo(b.StartTicks));
        var microsPerTick = 1_000_000.0 / Stopwatch.Frequency;
        var p50 = latency.Percentile(50);
        var p90 = latency.Percentile(90);
        var p99 = latency.Percentile(99);
        var p999 = latency.Percentile(99.9);
        Band ordinary = new(), tail = new(), far = new();
        for (var i = 0; i + 1 < deliveries.Count; i += 2)
        {
            var (sent, received) = (deliveries[i], deliveries[i + 1]);
            var micros = (long)((received - sent) * microsPerTick);
            var band = micros >= p99 ? tail : micros >= p50 && micros < p90 ? ordinary : null;
            if (band is null)
            {
                continue;
            }

            var post = postEnds.TryGetValue(sent, out var end) ? (long)((end - sent) * microsPerTick) : -1;
            var acrossPause = AcrossPause(pauses, sent, received);
            band.Add(micros, post, acrossPause);
            if (micros >= p999)
            {
                far.Add(micros, post, acrossPause);
            }
        }

        var pausedMs = pauses.Sum(p => (Math.Min(p.EndTicks, toTicks) - Math.Max(p.StartTicks, fromTicks)) * microsPerTick / 1000);
        var windowMs = (toTicks - fromTicks) * microsPerTick / 1000;
        result.Row(label, gcKnown
            ? $"{pauses.Count} server GC pauses in the window, {pausedMs:F0} ms ({pausedMs / windowMs:P1} of it)"
            : "no GC pauses to line up (the server's runtime is not watched)");
        result.Row("", $"over p99 ({ScenarioResult.Ms(p99)} ms, n={tail.Count}): {tail}");
        result.Row("", $"over p99.9 ({ScenarioResult.Ms(p999)} ms, n={far.Count}): {far}");
        result.Row("", $"p50–p90 for comparison (n={ordinary.Count}): {ordinary}");
        result.Set(key, new JsonObject
        {
            ["gc_pauses"] = gcKnown ? pauses.Count : null,
            ["gc_paused_ms"] = Math.Round(pausedMs, 1),
            ["window_ms"] = Math.Round(windowMs, 1),
            ["over_p99"] = tail.ToJson(),
            ["over_p999"] = far.ToJson(),
            ["p50_to_p90"] = ordinary.ToJson(),
        });
    }

    // Sorted by start; pauses are a few per second, so a binary search for the first that could overlap is plenty.
    private static bool AcrossPause(List<GcPause> pauses, long sent, long received)
    {
        int lo = 0, hi = pauses.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (pauses[mid].StartTicks < received)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        // pauses[lo - 1] is the last to start before the delivery arrived; pauses do not overlap, so if it ended before
        // the delivery was sent, every earlier one did too.
        return lo > 0 && pauses[lo - 1].EndTicks > sent;
    }

    private sealed class Band
    {
        private readonly List<long> _posts = [];

        public int Count { get; private set; }

        public int AcrossPause { get; private set; }

        public int WriteSide { get; private set; }

        public int DeliverySide { get; private set; }

        public void Add(long micros, long postMicros, bool acrossPause)
        {
            Count++;
            if (postMicros >= 0)
            {
                _posts.Add(postMicros);
            }

            if (acrossPause)
            {
                AcrossPause++;
            }
            else if (postMicros * 2 >= micros)
            {
                WriteSide++;
            }
            else
            {
                DeliverySide++;
            }
        }

        private double Share(int n) => Count == 0 ? 0 : (double)n / Count;

        private double MedianPostMs()
        {
            if (_posts.Count == 0)
            {
                return double.NaN;
            }

            _posts.Sort();
            return _posts[_posts.Count / 2] / 1000.0;
        }

        public override string ToString() =>
            $"{Share(AcrossPause):P0} across a GC pause, {Share(WriteSide):P0} with their POST as slow (≥ half), {Share(DeliverySide):P0} after their POST returned; median POST {MedianPostMs():F2} ms";

        public JsonObject ToJson() => new()
        {
            ["n"] = Count,
            ["across_gc_pause"] = Math.Round(Share(AcrossPause), 4),
            ["write_side"] = Math.Round(Share(WriteSide), 4),
            ["delivery_side"] = Math.Round(Share(DeliverySide), 4),
            ["median_post_ms"] = double.IsNaN(MedianPostMs()) ? null : Math.Round(MedianPostMs(), 3),
        };
    }
}
