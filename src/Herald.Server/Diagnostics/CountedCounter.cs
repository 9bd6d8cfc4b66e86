using System.Diagnostics.Metrics;

namespace Herald.Server.Diagnostics;

/// <summary>A <see cref="Counter{T}"/> that also keeps its total in process.</summary>
public sealed class CountedCounter(Meter meter, string name, string description)
{
    private readonly Counter<long> _counter = meter.CreateCounter<long>(name, description: description);
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public void Add(long delta)
    {
        Interlocked.Add(ref _total, delta);
        _counter.Add(delta);
    }

    public void Add(long delta, string tagName, string tagValue)
    {
        Interlocked.Add(ref _total, delta);
        _counter.Add(delta, new KeyValuePair<string, object?>(tagName, tagValue));
    }
}
