using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Herald.Server.Operations.Prometheus;

/// <summary>One instrument as one Prometheus metric family: its name, type, help and a series per tag set.</summary>
/// <remarks>
/// Series are keyed by their rendered label block (<c>reason="slow_consumer"</c>). The key is rendered into a
/// per-thread buffer and looked up as a span, so recording to an existing series allocates nothing.
/// </remarks>
internal sealed class MetricFamily
{
    /// <summary>More distinct tag sets than this on one instrument are dropped: a bug must not become a memory leak.</summary>
    public const int MaxSeries = 1000;

    // The OpenTelemetry SDK's default explicit bucket boundaries, for histograms that give no advice.
    private static readonly double[] DefaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    [ThreadStatic]
    private static char[]? _threadKeyBuffer;

    private readonly ConcurrentDictionary<string, MetricSeries> _series = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MetricSeries>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Mode _mode;
    private readonly string _help;
    private readonly string _type;
    private readonly double[]? _bounds;
    private readonly bool _observable;

    private MetricFamily(string name, string help, string type, Mode mode, bool observable, double[]? bounds)
    {
        Name = name;
        _help = help;
        _type = type;
        _mode = mode;
        _observable = observable;
        _bounds = bounds;
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private enum Mode
    {
        Add,
        Set,
        Observe,
    }

    /// <summary>The Prometheus name, e.g. <c>herald_delivery_latency_milliseconds</c>.</summary>
    public string Name { get; }

    /// <summary>A family for <paramref name="instrument"/>, or null for an instrument kind Prometheus has no type for.</summary>
    public static MetricFamily? TryCreate(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var kind = type.GetGenericTypeDefinition();
        var help = instrument.Description ?? "";
        if (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>))
        {
            return new MetricFamily(PrometheusText.MetricName(instrument.Name, instrument.Unit, counter: true), help, "counter",
                kind == typeof(Counter<>) ? Mode.Add : Mode.Set, instrument.IsObservable, null);
        }

        if (kind == typeof(UpDownCounter<>) || kind == typeof(ObservableUpDownCounter<>) || kind == typeof(Gauge<>) || kind == typeof(ObservableGauge<>))
        {
            return new MetricFamily(PrometheusText.MetricName(instrument.Name, instrument.Unit, counter: false), help, "gauge",
                kind == typeof(UpDownCounter<>) ? Mode.Add : Mode.Set, instrument.IsObservable, null);
        }

        if (kind == typeof(Histogram<>))
        {
            return new MetricFamily(PrometheusText.MetricName(instrument.Name, instrument.Unit, counter: false), help, "histogram",
                Mode.Observe, false, BoundsOf(instrument));
        }

        return null;
    }

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_mode != Mode.Add)
        {
            Record((double)value, tags);
            return;
        }

        // Integer adds stay integers: exact however large the count grows.
        SeriesFor(tags)?.Add(value);
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (SeriesFor(tags) is not { } series)
        {
            return;
        }

        switch (_mode)
        {
            case Mode.Add:
                series.Add(value);
                break;
            case Mode.Set:
                series.Set(value);
                break;
            default:
                series.Observe(value, _bounds!);
                break;
        }
    }

    /// <summary>Observable instruments report every live tag set on each scrape; forget the previous ones first.</summary>
    public void BeginObservation()
    {
        if (_observable)
        {
            _series.Clear();
        }
    }

    public void WriteTo(StringBuilder text)
    {
        var series = _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal).ToList();
        if (series.Count == 0)
        {
            if (_observable || _mode == Mode.Set)
            {
                return; // nothing observed: no value to claim
            }

            // Counters and histograms start at zero, so rate() works from the first scrape.
            series.Add(new MetricSeries("", _bounds is null ? 0 : _bounds.Length + 1));
        }

        text.Append("# HELP ").Append(Name).Append(' ').Append(PrometheusText.EscapeHelp(_help)).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
        foreach (var s in series)
        {
            if (_mode == Mode.Observe)
            {
                s.WriteHistogram(text, Name, _bounds!);
            }
            else
            {
                text.Append(Name);
                PrometheusText.AppendLabels(text, s.Labels, null);
                text.Append(' ');
                s.WriteValue(text);
                text.Append('\n');
            }
        }
    }

    private MetricSeries? SeriesFor(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var buffer = _threadKeyBuffer ??= new char[256];
        int length;
        while (!PrometheusText.TryRenderLabels(tags, buffer, out length))
        {
            buffer = _threadKeyBuffer = new char[buffer.Length * 2];
        }

        var key = buffer.AsSpan(0, length);
        if (_lookup.TryGetValue(key, out var existing))
        {
            return existing;
        }

        if (_series.Count >= MaxSeries)
        {
            return null;
        }

        var labels = key.ToString();
        return _series.GetOrAdd(labels, static (l, buckets) => new MetricSeries(l, buckets), _bounds is null ? 0 : _bounds.Length + 1);
    }

    private static double[] BoundsOf(Instrument instrument)
    {
        IEnumerable<double>? advice = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            _ => null,
        };
        var bounds = advice?.Distinct().Order().ToArray();
        return bounds is { Length: > 0 } ? bounds : DefaultBounds;
    }
}
