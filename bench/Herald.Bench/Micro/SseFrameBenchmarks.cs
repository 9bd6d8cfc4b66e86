using System.Text;
using BenchmarkDotNet.Attributes;
using Herald.Protocol;

namespace Herald.Bench.Micro;

/// <summary>Encoding an event into its SSE frame: done once per event, whatever the number of subscribers.</summary>
[MemoryDiagnoser]
public class SseFrameBenchmarks
{
    private byte[] _chatMessage = [];
    private byte[] _multiLine = [];

    [GlobalSetup]
    public void Setup()
    {
        // The payload of a chat message as the server sends it (about 170 bytes).
        _chatMessage = Encoding.UTF8.GetBytes(
            """{"type":"message:new","message":{"id":123456,"dialog_id":4242,"sender":"user","text":"bench:4242:17:123456789012345","created_at":"2025-01-01T12:00:00.000Z"}}""");
        // A payload with line breaks exercises the one-data-line-per-line split.
        _multiLine = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Repeat("""{"line":"some text of a multi-line payload"}""", 4)));
    }

    [Benchmark(Baseline = true)]
    public byte[] ChatMessage() => SseFrame.Encode(1_234_567, "message", _chatMessage);

    [Benchmark]
    public byte[] MultiLine() => SseFrame.Encode(1_234_567, "message", _multiLine);
}
