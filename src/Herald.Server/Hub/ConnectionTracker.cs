using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Herald.Protocol.Limits;
using Herald.Server.Diagnostics;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hub;

/// <summary>
/// Every live streaming connection on this node: the global limit, counts by transport for stats, and the
/// buckets the <see cref="HeartbeatService"/> walks one at a time.
/// </summary>
public sealed class ConnectionTracker
{
    /// <summary>Connections are spread over this many buckets; the heartbeat visits one bucket per tick.</summary>
    public const int BucketCount = 64;

    private readonly HashSet<Subscriber>[] _buckets = Enumerable.Range(0, BucketCount).Select(_ => new HashSet<Subscriber>()).ToArray();
    private readonly ConcurrentDictionary<string, StrongBox<long>> _byTransport = new(StringComparer.Ordinal);
    private readonly int _maxConnections;
    private readonly AddressCounter _perIp;
    private readonly HeraldMetrics _metrics;
    private int _next;
    private int _count;

    public ConnectionTracker(IOptions<HeraldOptions> options, HeraldMetrics metrics)
    {
        _maxConnections = options.Value.Streams.MaxConnections;
        _perIp = new AddressCounter(options.Value.Limits.MaxConnectionsPerIp);
        _metrics = metrics;
        metrics.Meter.CreateObservableGauge("herald.connections", () =>
            _byTransport.Select(kv => new System.Diagnostics.Metrics.Measurement<long>(Interlocked.Read(ref kv.Value.Value),
                new KeyValuePair<string, object?>("transport", kv.Key))), description: "Open streaming connections by transport");
    }

    public int Count => Volatile.Read(ref _count);

    /// <summary>Reserves a slot under the global and the per-IP limit; false when either is reached.</summary>
    public bool TryReserve(string clientKey)
    {
        if (Interlocked.Increment(ref _count) > _maxConnections)
        {
            Interlocked.Decrement(ref _count);
            _metrics.RateLimited.Add(1, "limit", "global_connections");
            return false;
        }

        if (!_perIp.TryAcquire(clientKey))
        {
            Interlocked.Decrement(ref _count);
            _metrics.RateLimited.Add(1, "limit", "connections_per_ip");
            return false;
        }

        return true;
    }

    /// <summary>
    /// Frees a slot taken by <see cref="TryReserve"/> for a connection that was never registered as a subscriber
    /// (a bridge socket: it counts under the same limits, but receives no events).
    /// </summary>
    public void Release(string clientKey)
    {
        Interlocked.Decrement(ref _count);
        _perIp.Release(clientKey);
    }

    /// <summary>Registers a connection that holds a reserved slot.</summary>
    public void Add(Subscriber subscriber)
    {
        subscriber.TrackerBucket = (int)((uint)Interlocked.Increment(ref _next) % BucketCount);
        var bucket = _buckets[subscriber.TrackerBucket];
        lock (bucket)
        {
            bucket.Add(subscriber);
        }

        Interlocked.Increment(ref _byTransport.GetOrAdd(subscriber.Transport, static _ => new StrongBox<long>()).Value);
    }

    /// <summary>Unregisters a connection and frees its slot.</summary>
    public void Remove(Subscriber subscriber)
    {
        var bucket = _buckets[subscriber.TrackerBucket];
        lock (bucket)
        {
            bucket.Remove(subscriber);
        }

        Interlocked.Decrement(ref _byTransport.GetOrAdd(subscriber.Transport, static _ => new StrongBox<long>()).Value);
        Release(subscriber.ClientKey);
    }

    public IReadOnlyDictionary<string, long> CountsByTransport() =>
        _byTransport.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Value), StringComparer.Ordinal);

    /// <summary>Copies bucket <paramref name="index"/> into <paramref name="into"/> (cleared first).</summary>
    public void Snapshot(int index, List<Subscriber> into)
    {
        into.Clear();
        var bucket = _buckets[index];
        lock (bucket)
        {
            into.AddRange(bucket);
        }
    }

    /// <summary>All connections (for draining at shutdown).</summary>
    public List<Subscriber> All()
    {
        var all = new List<Subscriber>();
        var part = new List<Subscriber>();
        for (var i = 0; i < BucketCount; i++)
        {
            Snapshot(i, part);
            all.AddRange(part);
        }

        return all;
    }
}
