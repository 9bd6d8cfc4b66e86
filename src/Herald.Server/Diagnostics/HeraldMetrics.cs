using System.Diagnostics.Metrics;

namespace Herald.Server.Diagnostics;

/// <summary>
/// Herald's instruments (meter <c>Herald</c>). Counters also keep a running total in process, which
/// /api/sse/stats reports without needing a metrics listener.
/// </summary>
public sealed class HeraldMetrics : IDisposable
{
    public const string MeterName = "Herald";

    private static readonly double[] LatencyBuckets = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

    // Finer between 5 and 100 ms, where a node's commit times live and where a 50 ms target is judged.
    private static readonly double[] WriteBuckets = [0.5, 1, 2, 5, 10, 15, 20, 30, 40, 50, 75, 100, 250, 500, 1000, 2500];

    private readonly Meter _meter;

    public HeraldMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        EventsPublished = new(_meter, "herald.events.published", "Events committed (durable) or published (ephemeral) on this node");
        EventsDispatched = new(_meter, "herald.events.dispatched", "Events fanned out on this node");
        EventsQueued = new(_meter, "herald.deliveries.queued", "Event copies queued to connections");
        EventsSent = new(_meter, "herald.deliveries.sent", "Event copies written to connections");
        DuplicatesDropped = new(_meter, "herald.events.duplicates_dropped", "Events dropped because this node had delivered them already");
        GapsFilled = new(_meter, "herald.events.gaps_filled", "Out-of-order gaps filled from the store");
        EventsCovered = new(_meter, "herald.events.covered", "Event ids this node passed on a commit marker without their body: no subscriber of the topic here (Herald:Redis:Subscribe=interest)");
        BackplaneEventsReceived = new(_meter, "herald.backplane.events_received", "Event messages (bodies) this node received from the Redis backplane");
        BackplaneMarkersReceived = new(_meter, "herald.backplane.markers_received", "Commit markers this node received from the Redis backplane (Herald:Redis:Subscribe=interest)");
        BackplaneMarkersPublished = new(_meter, "herald.backplane.markers_published", "Commit-marker messages this node published, each covering every batch it committed within Herald:Redis:MarkerInterval (Herald:Redis:Subscribe=interest)");
        Resumes = new(_meter, "herald.resumes", "Streams resumed from a Last-Event-ID");
        ReplayedEvents = new(_meter, "herald.resumes.replayed_events", "Events sent from the store on resume");
        Resets = new(_meter, "herald.resumes.resets", "Resumes answered with reset (position too old or unknown)");
        Disconnects = new(_meter, "herald.disconnects", "Connections closed by the server, by reason");
        StreamsHandedOff = new(_meter, "herald.streams.handed_off", "SSE streams and WebSockets that left Kestrel's request state once their headers (or 101) were out (Transports/Handoff/ConnectionHandoff)");
        AuthFailures = new(_meter, "herald.auth.failures", "Rejected credentials, by reason");
        RateLimited = new(_meter, "herald.rate_limited", "Requests refused by a rate or connection limit");
        LoopFaults = new(_meter, "herald.loop.faults", "Faults a long-lived loop caught in one iteration and survived, by loop");
        DeliveryLatency = _meter.CreateHistogram<double>("herald.delivery.latency", "ms",
            "From the moment this node received an event to the moment its bytes were flushed to a connection",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        WriteLatency = _meter.CreateHistogram<double>("herald.store.write.latency", "ms",
            "From the moment a write (a chat message, a dialog change) was queued to the moment its transaction had committed",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WriteBuckets });
        WriteBatchDuration = _meter.CreateHistogram<double>("herald.store.write_batch.duration", "ms",
            "One write batch (group commit): from its first statement to its commit, the commit's fsync included",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = WriteBuckets });
        WriteBatchSize = _meter.CreateHistogram<int>("herald.store.write_batch.size", "{write}",
            "Writes committed together in one transaction",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

        // The backplane's figures, read when observed (ObserveRedis wires them once the bus exists).
        _meter.CreateObservableGauge("herald.redis.state", ObserveRedisStates,
            description: "1 for the backplane's current state (connected, disconnected, disabled), 0 for the others");
        _meter.CreateObservableCounter("herald.redis.reconnects", () => _redisReconnects?.Invoke() ?? 0,
            description: "Times a Redis backplane connection was re-established");
        _meter.CreateObservableGauge("herald.store.write_queue", () => _writeQueue?.Invoke() ?? 0, "{write}",
            "Writes waiting for the node's writer; a queue that grows is a store that cannot keep up");
    }

    public CountedCounter EventsPublished { get; }
    public CountedCounter EventsDispatched { get; }
    public CountedCounter EventsQueued { get; }
    public CountedCounter EventsSent { get; }
    public CountedCounter DuplicatesDropped { get; }
    public CountedCounter GapsFilled { get; }
    public CountedCounter EventsCovered { get; }
    public CountedCounter BackplaneEventsReceived { get; }
    public CountedCounter BackplaneMarkersReceived { get; }

    public CountedCounter BackplaneMarkersPublished { get; }
    public CountedCounter Resumes { get; }
    public CountedCounter ReplayedEvents { get; }
    public CountedCounter Resets { get; }
    public CountedCounter Disconnects { get; }
    public CountedCounter StreamsHandedOff { get; }
    public CountedCounter AuthFailures { get; }
    public CountedCounter RateLimited { get; }
    public CountedCounter LoopFaults { get; }
    public Histogram<double> DeliveryLatency { get; }
    public Histogram<double> WriteLatency { get; }
    public Histogram<double> WriteBatchDuration { get; }
    public Histogram<int> WriteBatchSize { get; }

    internal Meter Meter => _meter;

    /// <summary>
    /// Counts a fault that <paramref name="loop"/> (<c>heartbeat</c>, <c>dispatcher</c>, <c>writer</c>, <c>retention</c>,
    /// <c>store_watcher</c>, <c>redis_receive</c>, <c>redis_publish</c>, <c>redis_interest</c>, <c>lease</c>, <c>grant_watcher</c>) caught and survived.
    /// </summary>
    /// <remarks>Never throws: a metrics listener that throws may be the very fault being reported, and a second
    /// exception from the catch block would end the loop after all. The in-process total is counted first.</remarks>
    public void LoopFault(string loop)
    {
        try
        {
            LoopFaults.Add(1, "loop", loop);
        }
        catch (Exception)
        {
        }
    }

    /// <summary>
    /// Makes <c>herald.redis.state</c> report what <paramref name="state"/> returns (<c>connected</c>,
    /// <c>disconnected</c> or <c>disabled</c>, as /api/sse/health says) and <c>herald.redis.reconnects</c> the running
    /// total <paramref name="reconnects"/> returns. Set once the bus exists: the bus depends on these metrics, so
    /// they cannot depend on it.
    /// </summary>
    public void ObserveRedis(Func<string> state, Func<long> reconnects)
    {
        _redisReconnects = reconnects;
        _redisState = state;
    }

    /// <summary>Makes <c>herald.store.write_queue</c> report what <paramref name="length"/> returns (the writer sets it).</summary>
    public void ObserveWriteQueue(Func<int> length) => _writeQueue = length;

    public void Dispose() => _meter.Dispose();

    private static readonly string[] RedisStates = ["connected", "disconnected", "disabled"];

    private Func<string>? _redisState;
    private Func<long>? _redisReconnects;
    private Func<int>? _writeQueue;

    private IEnumerable<Measurement<int>> ObserveRedisStates()
    {
        if (_redisState is not { } source)
        {
            yield break;
        }

        var current = source();
        foreach (var state in RedisStates)
        {
            yield return new Measurement<int>(state == current ? 1 : 0, new KeyValuePair<string, object?>("state", state));
        }
    }
}
