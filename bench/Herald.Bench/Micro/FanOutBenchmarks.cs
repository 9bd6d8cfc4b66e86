using System.Text;
using BenchmarkDotNet.Attributes;
using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Bench.Micro;

/// <summary>
/// Fan-out of one event to N subscribers of a topic through <see cref="TopicRegistry.Publish"/>: the broadcast
/// path, which must not allocate per delivery.
/// </summary>
/// <remarks>
/// <para><see cref="PublishAndDrain"/>: the publisher's enqueue plus the writer's drain, on one thread, with no
/// writer waiting (so no wake-up) — every subscriber's queue is empty again after each operation.</para>
/// <para><see cref="PublishToAsyncWriters"/>: each subscriber has a real async writer loop (as SseTransport's
/// pump) awaiting <see cref="Subscriber.WaitToReadAsync"/>; an operation completes when all N have woken on
/// the thread pool and drained. This includes the wake-up path, and the memory diagnoser counts allocations
/// on every thread.</para>
/// Times are per publish; divide by N for per delivery.
/// </remarks>
[MemoryDiagnoser]
public class FanOutBenchmarks : IDisposable
{
    private readonly HubEvent?[] _batch = new HubEvent?[64];
    private TopicRegistry _registry = new();
    private Subscriber[] _subscribers = [];
    private HubEvent _event = null!;
    private Task[] _writers = [];
    private long _drained;
    private long _expected;
    private System.Diagnostics.ActivityListener? _listener;

    [Params(1, 100, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup(Target = nameof(PublishAndDrain))]
    public void SetupSync() => Setup(asyncWriters: false);

    // Tracing on: a listener samples every span and the event carries a context, so each publish starts one
    // herald.deliver span (with one span event per subscriber up to HeraldTracing.MaxSubscriberEvents).
    [GlobalSetup(Target = nameof(PublishAndDrainTraced))]
    public void SetupTraced()
    {
        Setup(asyncWriters: false);
        _listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == Herald.Server.Diagnostics.HeraldTracing.SourceName,
            Sample = static (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(_listener);
        _event.TraceContext = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(),
            System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded, isRemote: true);
    }

    [GlobalSetup(Target = nameof(PublishToAsyncWriters))]
    public void SetupAsync() => Setup(asyncWriters: true);

    private void Setup(bool asyncWriters)
    {
        _registry = new TopicRegistry();
        _event = new HubEvent(1, "bench", "message",
            Encoding.UTF8.GetBytes("""{"type":"message:new","message":{"id":1,"dialog_id":1,"sender":"user","text":"hello","created_at":"2025-01-01T12:00:00.000Z"}}"""),
            0);
        _subscribers = new Subscriber[Subscribers];
        for (var i = 0; i < Subscribers; i++)
        {
            _subscribers[i] = new Subscriber("sse", ["bench"], 1024, 1024 * 1024);
            _registry.Add(_subscribers[i]);
        }

        _drained = 0;
        _expected = 0;
        _writers = asyncWriters ? _subscribers.Select(s => Task.Run(() => WriterAsync(s))).ToArray() : [];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _listener = null;
        foreach (var s in _subscribers)
        {
            s.Close(Herald.Protocol.Disconnect.ClientClosed);
        }

        Task.WaitAll(_writers, TimeSpan.FromSeconds(10));
    }

    [Benchmark]
    public int PublishAndDrain()
    {
        var delivered = _registry.Publish(_event);
        var batch = _batch.AsSpan();
        foreach (var s in _subscribers)
        {
            s.Drain(batch);
        }

        return delivered;
    }

    public void Dispose()
    {
        _listener?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public int PublishAndDrainTraced() => PublishAndDrain();

    [Benchmark]
    public int PublishToAsyncWriters()
    {
        _expected += Subscribers;
        var delivered = _registry.Publish(_event);
        var spin = new SpinWait();
        while (Volatile.Read(ref _drained) < _expected)
        {
            spin.SpinOnce();
        }

        return delivered;
    }

    private async Task WriterAsync(Subscriber subscriber)
    {
        var batch = new HubEvent?[64];
        while (await subscriber.WaitToReadAsync())
        {
            var n = subscriber.Drain(batch);
            Interlocked.Add(ref _drained, n);
        }
    }
}
