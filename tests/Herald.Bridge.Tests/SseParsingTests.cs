using System.Text;
using Herald.Bridge;
using Herald.Protocol.Sse;

namespace Herald.Bridge.Tests;

/// <summary>
/// The WHATWG event-stream rules as the bridge applies them (Herald's SseEventReader underneath), and how each event maps
/// onto the seed's <c>sse-event</c> payload.
/// </summary>
public sealed class SseParsingTests
{
    /// <summary>Input stream, then the events expected, each as <c>id|event|data|retry</c> with <c>~</c> for null.</summary>
    public static TheoryData<string, string, string[]> Cases => new()
    {
        { "single event", "data: hello\n\n", ["~|message|hello|~"] },
        { "multi-line data joined with LF", "data: a\ndata: b\ndata:\ndata: c\n\n", ["~|message|a\nb\n\nc|~"] },
        { "LF line ends", "id: 1\nevent: x\ndata: d\n\n", ["1|x|d|~"] },
        { "CR line ends", "id: 1\revent: x\rdata: d\r\r", ["1|x|d|~"] },
        { "CRLF line ends", "id: 1\r\nevent: x\r\ndata: d\r\n\r\n", ["1|x|d|~"] },
        { "mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", ["~|message|a\nb\nc|~"] },
        { "leading BOM skipped", "\uFEFFdata: bom\n\n", ["~|message|bom|~"] },
        { "BOM only at the start", "data: x\n\n\uFEFFdata: y\n\n", ["~|message|x|~"] },
        { "comments ignored", ": comment\ndata: x\n: another\n\n", ["~|message|x|~"] },
        { "comment-only block dispatches nothing", ": keepalive\n\n", [] },
        { "one leading space removed, not more", "data:  two spaces\n\n", ["~|message| two spaces|~"] },
        { "no space after colon", "data:tight\n\n", ["~|message|tight|~"] },
        { "field without colon is an empty value", "data\n\n", ["~|message||~"] },
        { "event defaults to message", "id: 7\ndata: x\n\n", ["7|message|x|~"] },
        { "event type resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", ["~|a|1|~", "~|message|2|~"] },
        { "event type resets after a block without data", "event: foo\n\ndata: x\n\n", ["~|message|x|~"] },
        { "empty event is message", "event:\ndata: x\n\n", ["~|message|x|~"] },
        { "retry of a block without data is not the next event's", "retry: 1000\n\ndata: x\n\n", ["~|message|x|~"] },
        { "id of a block without data is not the next event's", "id: 5\n\ndata: x\n\n", ["~|message|x|~"] },
        { "retry all digits", "retry: 5000\ndata: x\n\n", ["~|message|x|5000"] },
        { "retry with a letter ignored", "retry: 50a\ndata: x\n\n", ["~|message|x|~"] },
        { "retry with a sign ignored", "retry: -1\ndata: x\n\n", ["~|message|x|~"] },
        { "retry with a space inside ignored", "retry: 5 0\ndata: x\n\n", ["~|message|x|~"] },
        { "retry zero", "retry: 0\ndata: x\n\n", ["~|message|x|0"] },
        { "id with NUL ignored", "id: a\0b\ndata: x\n\n", ["~|message|x|~"] },
        { "empty id is an id", "id:\ndata: x\n\n", ["|message|x|~"] },
        { "id is per event in the payload", "id: 1\ndata: a\n\ndata: b\n\n", ["1|message|a|~", "~|message|b|~"] },
        { "unknown field ignored", "foo: bar\ndata: x\n\n", ["~|message|x|~"] },
        { "no data means no dispatch", "id: 1\nevent: e\n\n", [] },
        { "trailing event without blank line not dispatched", "data: a\n\ndata: b\n", ["~|message|a|~"] },
        { "stream ending in the middle of a line", "data: a\n\ndata: b", ["~|message|a|~"] },
        { "UTF-8 text", "data: привет 👋\n\n", ["~|message|привет 👋|~"] },
        { "seed sample event",
            "id: echo-1704110400000-3\nevent: final-message\nretry: 5000\ndata: {\"sequence\":3}\n\n",
            ["echo-1704110400000-3|final-message|{\"sequence\":3}|5000"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ReadAll_WhatwgCase_MapsToSeedPayload(string name, string input, string[] expected)
    {
        // Fed one byte per read as well as whole, so line ends split across reads (CR | LF) are covered.
        foreach (var chunk in new[] { int.MaxValue, 1 })
        {
            var actual = await ReadAsync(input, chunk);
            Assert.True(expected.SequenceEqual(actual), $"{name} (reads of {chunk}): expected [{string.Join(", ", expected)}] got [{string.Join(", ", actual)}]");
        }
    }

    [Fact]
    public async Task LastEventId_PersistsAcrossEvents_AsEventSourceKeepsIt()
    {
        using var reader = new UpstreamEventReader(new MemoryStream(Encoding.UTF8.GetBytes("id: 5\ndata: a\n\ndata: b\n\nid: 6\n\n")));
        List<string?> seen = [];
        await foreach (var e in reader.ReadAllAsync(CancellationToken.None).WithCancellation(CancellationToken.None))
        {
            seen.Add(reader.LastEventId);
        }

        // Spec, dispatch step 1 ("Set the last event ID string of the event source to the value of the last event ID
        // buffer") comes before step 2 returns for a block without data: its id (6) is the last event ID.
        Assert.Equal(["5", "5"], seen);
        Assert.Equal("6", reader.LastEventId);
    }

    [Fact]
    public async Task ReconnectionInterval_TakenEvenFromAnUndispatchedBlock()
    {
        using var reader = new UpstreamEventReader(new MemoryStream("retry: 1234\n\n"u8.ToArray()));
        await foreach (var _ in reader.ReadAllAsync(CancellationToken.None))
        {
        }

        Assert.Equal(TimeSpan.FromMilliseconds(1234), reader.ReconnectionInterval);
        Assert.Equal("", reader.LastEventId);
    }

    [Theory]
    [InlineData("data: 0123456789012345678901234567890\n\n")]
    [InlineData("data: 0123456789\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n")]
    [InlineData("data: 0123456789\r\ndata: 0123456789\r\ndata: 0123456789\r\ndata: 0123456789\r\n\r\n")]
    public async Task ReadStream_LineOrEventOverLimit_Fails(string input)
    {
        using var reader = new UpstreamEventReader(new MemoryStream(Encoding.UTF8.GetBytes(input)), maxEventBytes: 30);
        var error = await Assert.ThrowsAsync<BridgeUpstreamException>(async () =>
        {
            await foreach (var _ in reader.ReadAllAsync(CancellationToken.None))
            {
            }
        });
        Assert.Contains("maxEventBytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadStream_ManySmallEvents_CountPerEvent()
    {
        // 100 events of 20 bytes each: 2000 bytes in all, but no single event near the 30-byte limit.
        var input = string.Concat(Enumerable.Repeat("data: 0123456789abcd\r\n\r\n", 100));
        using var reader = new UpstreamEventReader(new MemoryStream(Encoding.UTF8.GetBytes(input)), maxEventBytes: 30);
        var count = 0;
        await foreach (var _ in reader.ReadAllAsync(CancellationToken.None))
        {
            count++;
        }

        Assert.Equal(100, count);
    }

    private static async Task<List<string>> ReadAsync(string input, int chunk)
    {
        var stream = new IdleTimeoutReadStream(new ChunkedStream(Encoding.UTF8.GetBytes(input), chunk), Timeout.InfiniteTimeSpan);
        using var reader = new UpstreamEventReader(stream);
        List<string> events = [];
        await foreach (var e in reader.ReadAllAsync(CancellationToken.None))
        {
            events.Add($"{e.Id ?? "~"}|{e.Event}|{e.Data}|{e.Retry ?? "~"}");
        }

        return events;
    }

    /// <summary>Returns at most <c>chunk</c> bytes per read.</summary>
    private sealed class ChunkedStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);
    }
}
