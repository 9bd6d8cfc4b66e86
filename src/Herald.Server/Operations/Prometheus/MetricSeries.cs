using System.Globalization;
using System.Text;

namespace Herald.Server.Operations.Prometheus;

/// <summary>The value of one tag set of a <see cref="MetricFamily"/>: a sum, a last value, or histogram buckets.</summary>
/// <remarks>Lock-free: integer adds are one interlocked add, double adds a compare-exchange loop.</remarks>
internal sealed class MetricSeries(string labels, int bucketCount)
{
    private readonly long[]? _buckets = bucketCount > 0 ? new long[bucketCount] : null;
    private long _long;
    private double _double;

    /// <summary>The rendered label block without braces, e.g. <c>transport="sse"</c>; empty for no tags.</summary>
    public string Labels { get; } = labels;

    public void Add(long value) => Interlocked.Add(ref _long, value);

    public void Add(double value) => AddDouble(ref _double, value);

    public void Set(double value)
    {
        Volatile.Write(ref _long, 0);
        Volatile.Write(ref _double, value);
    }

    /// <summary>Counts <paramref name="value"/> in the first bucket whose upper bound is at or above it (Prometheus' <c>le</c>).</summary>
    public void Observe(double value, double[] bounds)
    {
        var index = Array.BinarySearch(bounds, value);
        if (index < 0)
        {
            index = ~index;
        }

        Interlocked.Increment(ref _buckets![index]);
        AddDouble(ref _double, value);
    }

    public void WriteValue(StringBuilder text)
    {
        var d = Volatile.Read(ref _double);
        var l = Interlocked.Read(ref _long);
        if (d == 0)
        {
            text.Append(l.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            text.Append(PrometheusText.FormatDouble(l + d));
        }
    }

    public void WriteHistogram(StringBuilder text, string name, double[] bounds)
    {
        // Buckets are read one by one while others may record: the cumulative counts, and _count (their total),
        // are consistent with each other even if the sum is a hair ahead or behind.
        long cumulative = 0;
        for (var i = 0; i <= bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _buckets![i]);
            text.Append(name).Append("_bucket");
            PrometheusText.AppendLabels(text, Labels, i < bounds.Length ? PrometheusText.FormatDouble(bounds[i]) : "+Inf");
            text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append(name).Append("_sum");
        PrometheusText.AppendLabels(text, Labels, null);
        text.Append(' ').Append(PrometheusText.FormatDouble(Volatile.Read(ref _double))).Append('\n');
        text.Append(name).Append("_count");
        PrometheusText.AppendLabels(text, Labels, null);
        text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static void AddDouble(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}
