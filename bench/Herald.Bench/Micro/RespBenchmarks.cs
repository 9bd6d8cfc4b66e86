using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Herald.Redis.Protocol;
using Herald.Testing;

namespace Herald.Bench.Micro;

/// <summary>
/// Reading what the Redis backplane receives: a pub/sub <c>message</c> push (array of channel and a chat event
/// payload), once as one contiguous buffer and once split across segments as a socket read can leave it; and
/// the frame scan alone, which decides whether a whole frame has arrived before anything is materialised.
/// </summary>
[MemoryDiagnoser]
public class RespBenchmarks
{
    private ReadOnlySequence<byte> _contiguous;
    private ReadOnlySequence<byte> _segmented;

    [GlobalSetup]
    public void Setup()
    {
        // What `PUBLISH ws:dialog:4242 <payload>` delivers to a subscriber (about 300 bytes on the wire).
        const string payload = """{"type":"message:new","message":{"id":123456,"dialog_id":4242,"sender":"user","text":"bench:4242:17:123456789012345","created_at":"2025-01-01T12:00:00.000Z"},"event_id":987654,"event":"message","herald_node":"node-a"}""";
        var frame = Encoding.UTF8.GetBytes($"*3\r\n$7\r\nmessage\r\n$14\r\nws:dialog:4242\r\n${Encoding.UTF8.GetByteCount(payload)}\r\n{payload}\r\n");
        _contiguous = new ReadOnlySequence<byte>(frame);
        _segmented = TestSequences.Split(frame, [.. Enumerable.Range(1, frame.Length / 64).Select(i => i * 64)]);
    }

    [Benchmark(Baseline = true)]
    public bool ScanPush() => RespParser.TryScan(_contiguous, out _);

    [Benchmark]
    public RespValue ParsePush()
    {
        var buffer = _contiguous;
        return RespParser.TryParse(ref buffer, out var value) ? value : throw new InvalidOperationException("incomplete frame");
    }

    [Benchmark]
    public RespValue ParsePushSegmented()
    {
        var buffer = _segmented;
        return RespParser.TryParse(ref buffer, out var value) ? value : throw new InvalidOperationException("incomplete frame");
    }
}
