using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Options;

namespace Herald.Server.Operations.Prometheus;

/// <summary>
/// Turns this node's <see cref="System.Diagnostics.Metrics"/> instruments into the Prometheus text exposition
/// format (version 0.0.4) with one <see cref="MeterListener"/>: no exporter package is needed.
/// </summary>
/// <remarks>
/// <para>Synchronous instruments are aggregated as they record (a counter add is one interlocked add; a histogram
/// observation a binary search and two); observable ones (the connection gauge, the runtime's GC and thread-pool
/// figures) are read only when Prometheus scrapes.</para>
/// <para>Only meters created by this host's <see cref="IMeterFactory"/> are exported, plus process-wide meters
/// (<c>System.Runtime</c>): several Herald hosts in one process (the tests) each export their own figures.</para>
/// </remarks>
internal sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly MeterListener _listener = new();
    private readonly IMeterFactory _factory;
    private readonly HashSet<string> _meters;
    private readonly ConcurrentDictionary<Instrument, MetricFamily> _families = new();
    private readonly ILogger<PrometheusExporter> _logger;
    private readonly Lock _scrape = new();

    public PrometheusExporter(IMeterFactory factory, IOptions<HeraldOptions> options, ILogger<PrometheusExporter> logger)
    {
        _factory = factory;
        _logger = logger;
        _meters = new HashSet<string>(
            options.Value.Metrics.Meters.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            StringComparer.Ordinal);
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out MetricFamily? _);
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((MetricFamily)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((MetricFamily)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments and renders every family.</summary>
    public string Scrape()
    {
        lock (_scrape)
        {
            var families = _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            foreach (var family in families)
            {
                family.BeginObservation();
            }

            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (Exception ex)
            {
                // One failing callback must not take the whole scrape down; what was observed is still rendered.
                OperationsLog.ObservableInstrumentFault(_logger, ex);
            }

            var text = new StringBuilder(16 * 1024);
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var family in families)
            {
                // Two instruments that map to one Prometheus name would make the exposition invalid: first wins.
                if (written.Add(family.Name))
                {
                    family.WriteTo(text);
                }
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        var meter = instrument.Meter;
        if (!_meters.Contains(meter.Name) || (meter.Scope is not null && !ReferenceEquals(meter.Scope, _factory)))
        {
            return;
        }

        if (MetricFamily.TryCreate(instrument) is { } family)
        {
            _families[instrument] = family;
            listener.EnableMeasurementEvents(instrument, family);
        }
    }
}
