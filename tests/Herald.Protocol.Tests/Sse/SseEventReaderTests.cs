using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Herald.Protocol.Sse;

namespace Herald.Protocol.Tests.Sse;

/// <summary>
/// Byte-exact event streams against the WHATWG interpretation rules
/// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation). Every stream is
/// read whole, one byte per read, and split in two at every byte position: all must give the same events.
/// </summary>
public sealed class SseEventReaderTests
{
    /// <summary>
    /// Name, input (C# string, sent as UTF-8: "\uFEFF" is the BOM's three bytes), the events as
    /// <c>type|data|id|lastEventId|retryMs</c> (<c>~</c> for null), and the reader's state at the end as
    /// <c>lastEventId|reconnectionTimeMs</c>.
    /// </summary>
    public static TheoryData<string, string, string[], string> Cases => new()
    {
        // Line ends.
        { "LF", "data: a\n\n", ["message|a|~||~"], "|~" },
        { "CRLF", "data: a\r\n\r\n", ["message|a|~||~"], "|~" },
        { "CR", "data: a\r\r", ["message|a|~||~"], "|~" },
        { "CRLF is one line end, not two", "data: a\r\ndata: b\r\n\r\n", ["message|a\nb|~||~"], "|~" },
        { "LF then CR are two line ends", "data: a\n\rdata: b\n\n", ["message|a|~||~", "message|b|~||~"], "|~" },
        { "CR then CRLF", "data: a\r\r\ndata: b\r\r", ["message|a|~||~", "message|b|~||~"], "|~" },
        { "mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", ["message|a\nb\nc|~||~"], "|~" },
        { "CR, LF and CRLF blank lines", "data: 1\r\rdata: 2\n\ndata: 3\r\n\r\n", ["message|1|~||~", "message|2|~||~", "message|3|~||~"], "|~" },
        { "several blank lines dispatch once", "data: a\n\n\n\r\n\r", ["message|a|~||~"], "|~" },

        // BOM.
        { "leading BOM stripped", "\uFEFFdata: a\n\n", ["message|a|~||~"], "|~" },
        { "leading BOM before a CRLF stream", "\uFEFFdata: a\r\n\r\n", ["message|a|~||~"], "|~" },
        { "second BOM is part of the field name", "\uFEFF\uFEFFdata: a\n\ndata: b\n\n", ["message|b|~||~"], "|~" },
        { "BOM after the start is not stripped", "data: a\n\n\uFEFFdata: b\n\n", ["message|a|~||~"], "|~" },
        { "BOM inside a value is kept", "data: \uFEFFa\n\n", ["message|\uFEFFa|~||~"], "|~" },

        // Comments and fields.
        { "comments ignored", ": comment\ndata: a\n: another\n\n", ["message|a|~||~"], "|~" },
        { "comment-only block dispatches nothing", ": keepalive\n\n:\n\n", [], "|~" },
        { "comment with a field-like text", ":data: x\n\n", [], "|~" },
        { "unknown field ignored", "foo: bar\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "field names are case-sensitive", "Data: a\nEVENT: e\ndata: b\n\n", ["message|b|~||~"], "|~" },
        { "field without colon: data", "data\n\n", ["message||~||~"], "|~" },
        { "field without colon twice: one LF", "data\ndata\n\n", ["message|\n|~||~"], "|~" },
        { "field without colon: event is empty, so message", "event: foo\nevent\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "field without colon: id resets", "id: 1\ndata: a\n\nid\ndata: b\n\n", ["message|a|1|1|~", "message|b|||~"], "|~" },
        { "one leading space removed", "data: a\n\n", ["message|a|~||~"], "|~" },
        { "only one leading space removed", "data:  a\n\n", ["message| a|~||~"], "|~" },
        { "no space after colon", "data:a\n\n", ["message|a|~||~"], "|~" },
        { "a tab is not removed", "data:\ta\n\n", ["message|\ta|~||~"], "|~" },
        { "trailing spaces kept", "data: a \n\n", ["message|a |~||~"], "|~" },
        { "colon in the value", "data: a:b\ndata:: c\n\n", ["message|a:b\n: c|~||~"], "|~" },
        { "space before the colon is part of the name", "data : a\n\n", [], "|~" },

        // Data buffer.
        { "data lines joined with LF", "data: a\ndata: b\ndata:\ndata: c\n\n", ["message|a\nb\n\nc|~||~"], "|~" },
        { "only the last LF removed", "data: a\ndata:\n\n", ["message|a\n|~||~"], "|~" },
        { "empty data value dispatches empty data", "data:\n\n", ["message||~||~"], "|~" },
        { "NUL in data kept", "data: a\0b\n\n", ["message|a\0b|~||~"], "|~" },
        { "no data field means no dispatch", "event: e\nid: 1\nretry: 5\n\n", [], "1|5" },
        { "UTF-8 text", "data: привет 👋\n\n", ["message|привет 👋|~||~"], "|~" },

        // Event type.
        { "event type", "event: add\ndata: 1\n\n", ["add|1|~||~"], "|~" },
        { "empty event value is message", "event:\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "event value of one space is message", "event: \ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "event value keeps a second space", "event:  a\ndata: x\n\n", [" a|x|~||~"], "|~" },
        { "event type reset after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", ["a|1|~||~", "message|2|~||~"], "|~" },
        { "event type reset by a block without data", "event: foo\n\ndata: x\n\n", ["message|x|~||~"], "|~" },
        { "event type reset by a block without data, CRLF", "event: foo\r\n\r\ndata: x\r\n\r\n", ["message|x|~||~"], "|~" },
        { "last event field wins", "event: a\nevent: b\ndata: x\n\n", ["b|x|~||~"], "|~" },
        { "event field after data", "data: x\nevent: late\n\n", ["late|x|~||~"], "|~" },

        // Id.
        { "id", "id: 1\ndata: a\n\n", ["message|a|1|1|~"], "1|~" },
        { "id persists as the last event ID", "id: 1\ndata: a\n\ndata: b\n\n", ["message|a|1|1|~", "message|b|~|1|~"], "1|~" },
        { "id after data in the block", "data: a\nid: 7\n\n", ["message|a|7|7|~"], "7|~" },
        { "last id field of a block wins", "id: 1\nid: 2\ndata: a\n\n", ["message|a|2|2|~"], "2|~" },
        { "id containing NUL ignored", "id: 1\ndata: a\n\nid: 2\03\ndata: b\n\n", ["message|a|1|1|~", "message|b|~|1|~"], "1|~" },
        { "id that is only NUL ignored", "id: \0\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "NUL id does not undo an earlier id of the block", "id: 5\nid: \0\ndata: a\n\n", ["message|a|5|5|~"], "5|~" },
        { "empty id resets the last event ID", "id: 1\ndata: a\n\nid:\ndata: b\n\n", ["message|a|1|1|~", "message|b|||~"], "|~" },
        { "id of a block without data sets the last event ID", "id: 5\n\ndata: x\n\n", ["message|x|~|5|~"], "5|~" },
        { "id of a block without data, alone", "id: 1\ndata: a\n\nid: 6\n\n", ["message|a|1|1|~"], "6|~" },
        { "id with spaces kept", "id: a b \ndata: x\n\n", ["message|x|a b |a b |~"], "a b |~" },
        { "id of an unfinished block not taken", "id: 1\ndata: a\n\nid: 2\ndata: b\n", ["message|a|1|1|~"], "1|~" },

        // Retry.
        { "retry", "retry: 1000\ndata: a\n\n", ["message|a|~||1000"], "|1000" },
        { "retry zero", "retry: 0\ndata: a\n\n", ["message|a|~||0"], "|0" },
        { "retry with leading zeros", "retry: 007\ndata: a\n\n", ["message|a|~||7"], "|7" },
        { "retry beyond TimeSpan saturates", "retry: 99999999999999999999999999\ndata: a\n\n", ["message|a|~||max"], "|max" },
        { "retry of an earlier block is not this event's", "retry: 1000\n\ndata: a\n\n", ["message|a|~||~"], "|1000" },
        { "retry resets after dispatch", "retry: 10\ndata: a\n\ndata: b\n\n", ["message|a|~||10", "message|b|~||~"], "|10" },
        { "retry negative ignored", "retry: -1\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with a plus sign ignored", "retry: +1\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry decimal ignored", "retry: 1.5\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry exponent ignored", "retry: 1e3\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry hex ignored", "retry: 0x10\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with a letter ignored", "retry: 50a\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with a space inside ignored", "retry: 5 0\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with a trailing space ignored", "retry: 50 \ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with two leading spaces ignored", "retry:  50\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry empty ignored", "retry:\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry without colon ignored", "retry\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "retry with non-ASCII digits ignored", "retry: ١٢\ndata: a\n\n", ["message|a|~||~"], "|~" },
        { "bogus retry keeps the earlier valid one", "retry: 500\nretry: x\ndata: a\n\n", ["message|a|~||500"], "|500" },

        // End of stream.
        { "unfinished block not dispatched (LF)", "data: a\n\ndata: b\n", ["message|a|~||~"], "|~" },
        { "unfinished block not dispatched (CR)", "data: a\n\ndata: b\r", ["message|a|~||~"], "|~" },
        { "stream ending in the middle of a line", "data: a\n\ndata: b", ["message|a|~||~"], "|~" },
        { "empty stream", "", [], "|~" },
        { "BOM only", "\uFEFF", [], "|~" },

        // The examples of the spec's "Interpreting an event stream" and "Introduction".
        { "spec: YHOO", "data: YHOO\ndata: +2\ndata: 10\n\n", ["message|YHOO\n+2\n10|~||~"], "|~" },
        {
            "spec: four blocks",
            ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
            ["message|first event|1|1|~", "message|second event|||~"],
            "|~"
        },
        { "spec: two events from data lines", "data\n\ndata\ndata\n\ndata:", ["message||~||~", "message|\n|~||~"], "|~" },
        { "spec: two identical events", "data:test\n\ndata: test\n\n", ["message|test|~||~", "message|test|~||~"], "|~" },
        {
            "spec: introduction, three messages",
            "data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\ndata: This is the third message.\n\n",
            ["message|This is the first message.|~||~", "message|This is the second message, it\nhas two lines.|~||~", "message|This is the third message.|~||~"],
            "|~"
        },
        {
            "spec: introduction, add and remove",
            "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
            ["add|73857293|~||~", "remove|2153|~||~", "add|113411|~||~"],
            "|~"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ReadAll_WhatwgCase_SameEventsWholeBytewiseAndAtEverySplit(string name, string input, string[] expected, string end)
    {
        await AssertAtEverySplitAsync(name, Encoding.UTF8.GetBytes(input), expected, end);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF }, "\uFFFD")]
    [InlineData(new byte[] { 0xE2, 0x82 }, "\uFFFD")]
    [InlineData(new byte[] { 0xC3, 0x28 }, "\uFFFD(")]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x91, 0x8B }, "👋")]
    public async Task ReadAll_InvalidUtf8_BecomesReplacementCharacter(byte[] value, string decoded)
    {
        // Spec: "Streams must be decoded using the UTF-8 decode algorithm": U+FFFD for each invalid sequence, as the
        // whole stream decoded at once would give (a line end interrupts a truncated sequence).
        var bytes = "data: "u8.ToArray().Concat(value).Concat("\nevent: "u8.ToArray()).Concat(value).Concat("\n\n"u8.ToArray()).ToArray();
        await AssertAtEverySplitAsync("invalid UTF-8", bytes, [$"{decoded}|{decoded}|~||~"], "|~");
    }

    [Fact]
    public async Task ReadAll_PartialBomAtStart_IsNotStripped()
    {
        var bytes = new byte[] { 0xEF, 0xBB }.Concat("data: a\n\ndata: b\n\n"u8.ToArray()).ToArray();
        await AssertAtEverySplitAsync("partial BOM", bytes, ["message|b|~||~"], "|~");
    }

    [Fact]
    public async Task ReadAll_LargeEvent_AcrossManyReadsAndBufferGrowth()
    {
        var line = new string('x', 100_000);
        var bytes = Encoding.UTF8.GetBytes($"id: big\ndata: {line}\ndata: {line}\n\ndata: after\n\n");
        foreach (var size in new[] { bytes.Length, 1, 7, 4096, 4097 })
        {
            var (events, _) = await ReadAsync(Chunk(bytes, size), maxLineBytes: 200_000, maxEventBytes: 300_000);
            Assert.Equal([$"message|{line}\n{line}|big|big|~", "message|after|~|big|~"], events);
        }
    }

    [Theory]
    [InlineData("data: 12345\n\n", true)]
    [InlineData("data: 12345\r\n\r\n", true)]
    [InlineData("data: 123456\n\n", false)]
    [InlineData("data: 123456", false)]
    [InlineData(": 456789012\n\n", true)]
    [InlineData(": 4567890123\n\n", false)]
    public async Task ReadAll_LineLimit_IsAHardLimitAtEverySplit(string input, bool fits) =>
        // maxLineBytes 11: "data: 12345" is exactly 11 bytes. Line ends do not count.
        await AssertLimitAtEverySplitAsync(input, fits, maxLineBytes: 11, maxEventBytes: SseEventReader.DefaultMaxEventBytes, "a line longer than 11 bytes");

    [Theory]
    [InlineData("data: 123456789\ndata: 123456789\n\n", false)]
    [InlineData(": comment 1\ndata: 1234567\n\n", false)]
    [InlineData("data: 1234567\n\ndata: 1234567\n\ndata: 1234567\n\n", true)]
    [InlineData("data: 1234567\r\n\r\ndata: 1234567\r\n\r\n", true)]
    public async Task ReadAll_EventLimit_CountsTheLinesOfOneBlock(string input, bool fits) =>
        await AssertLimitAtEverySplitAsync(input, fits, maxLineBytes: SseEventReader.DefaultMaxLineBytes, maxEventBytes: 20, "an event longer than 20 bytes");

    [Fact]
    public async Task ReadAsync_CrAtTheEndOfARead_DispatchesWithoutWaitingForTheNextByte()
    {
        // A server that ends lines with CR alone: the event must not wait for a byte that may never come.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("data: a\r\r"u8.ToArray());
        using var reader = new SseEventReader(pipe.Reader.AsStream());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var first = await reader.ReadAsync(timeout.Token);

        Assert.Equal("a", first?.Data);

        // The LF that completes the CRLF arrives in the next read and ends no line of its own.
        await pipe.Writer.WriteAsync("\ndata: b\r"u8.ToArray());
        await pipe.Writer.WriteAsync("\n\r\n"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        var second = await reader.ReadAsync(timeout.Token);
        Assert.Equal("b", second?.Data);
        Assert.Null(await reader.ReadAsync(timeout.Token));
    }

    [Fact]
    public async Task LastEventId_SeededFromThePreviousConnection_KeptUntilTheServerSetsIt()
    {
        using var reader = new SseEventReader(new MemoryStream("data: a\n\nid: 9\ndata: b\n\n"u8.ToArray()), lastEventId: "7");
        Assert.Equal("7", reader.LastEventId);

        var events = await ReadAllAsync(reader);

        Assert.Equal(["message|a|~|7|~", "message|b|9|9|~"], events.Select(Format));
        Assert.Equal("9", reader.LastEventId);
    }

    [Theory]
    [InlineData("a\0")]
    [InlineData("a\nb")]
    [InlineData("a\rb")]
    public void Constructor_LastEventIdThatCannotBeAnId_IsRefused(string lastEventId) =>
        Assert.Throws<ArgumentException>(() => new SseEventReader(Stream.Null, lastEventId));

    [Fact]
    public async Task ReadAsync_AfterDispose_Throws()
    {
        var reader = new SseEventReader(new MemoryStream("data: a\n\n"u8.ToArray()));
        reader.Dispose();
        reader.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await reader.ReadAsync());
    }

    [Fact]
    public async Task ReadAll_FramesFromSseFrame_RoundTrip()
    {
        var data = "line1\nline2\r\nline3\rline4"u8.ToArray();
        var bytes = SseFrame.Retry(5000).Concat(SseFrame.Heartbeat.ToArray()).Concat(SseFrame.Encode(7, "reset", data))
            .Concat(SseFrame.Encode(0, "typing", "{}"u8)).ToArray();
        using var reader = new SseEventReader(new MemoryStream(bytes));

        var events = await ReadAllAsync(reader);

        Assert.Equal(["reset|line1\nline2\nline3\nline4|7|7|~", "typing|{}|~|7|~"], events.Select(Format));
        Assert.Equal(TimeSpan.FromMilliseconds(5000), reader.ReconnectionTime);
    }

    private static async Task AssertAtEverySplitAsync(string name, byte[] bytes, string[] expected, string end)
    {
        foreach (var (label, chunks) in Splits(bytes))
        {
            var (events, state) = await ReadAsync(chunks);
            Assert.True(expected.SequenceEqual(events), $"{name} ({label}): expected [{Show(expected)}] got [{Show(events)}]");
            Assert.True(end == state, $"{name} ({label}): expected end state {Show([end])} got {Show([state])}");
        }
    }

    /// <summary>After a first event, <paramref name="input"/> either reads to its end or fails with the limit's message.</summary>
    private static async Task AssertLimitAtEverySplitAsync(string input, bool fits, int maxLineBytes, int maxEventBytes, string message)
    {
        foreach (var (label, chunks) in Splits(Encoding.UTF8.GetBytes("data: first\n\n" + input)))
        {
            var events = new List<SseEvent>();
            using var reader = new SseEventReader(new ChunkedStream(chunks), maxLineBytes: maxLineBytes, maxEventBytes: maxEventBytes);
            var read = async () =>
            {
                await foreach (var e in reader.ReadAllAsync())
                {
                    events.Add(e);
                }
            };
            if (fits)
            {
                await read();
            }
            else
            {
                var error = await Assert.ThrowsAsync<InvalidDataException>(read);
                Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{label}: {error.Message}");
            }

            // Everything before the offending line was delivered.
            Assert.True(events.Count >= 1 && events[0].Data == "first", label);
        }
    }

    /// <summary>The same bytes delivered whole, one byte per read, and in two reads split at every position.</summary>
    private static IEnumerable<(string Label, byte[][] Chunks)> Splits(byte[] bytes)
    {
        yield return ("whole", [bytes]);
        yield return ("one byte per read", Chunk(bytes, 1));
        for (var i = 1; i < bytes.Length; i++)
        {
            yield return ($"split at {i}", [bytes[..i], bytes[i..]]);
        }
    }

    private static byte[][] Chunk(byte[] bytes, int size) => bytes.Chunk(size).ToArray();

    private static async Task<(List<string> Events, string State)> ReadAsync(byte[][] chunks, int maxLineBytes = SseEventReader.DefaultMaxLineBytes,
        int maxEventBytes = SseEventReader.DefaultMaxEventBytes)
    {
        using var reader = new SseEventReader(new ChunkedStream(chunks), maxLineBytes: maxLineBytes, maxEventBytes: maxEventBytes);
        var events = (await ReadAllAsync(reader)).Select(Format).ToList();
        return (events, $"{reader.LastEventId}|{Ms(reader.ReconnectionTime)}");
    }

    private static async Task<List<SseEvent>> ReadAllAsync(SseEventReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        List<SseEvent> events = [];
        await foreach (var e in reader.ReadAllAsync(timeout.Token))
        {
            events.Add(e);
        }

        return events;
    }

    private static string Format(SseEvent e) => $"{e.Type}|{e.Data}|{e.Id ?? "~"}|{e.LastEventId}|{Ms(e.Retry)}";

    private static string Ms(TimeSpan? time) => time switch
    {
        null => "~",
        { } t when t == TimeSpan.MaxValue => "max",
        { } t => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
    };

    private static string Show(IEnumerable<string> values) =>
        string.Join(", ", values.Select(v => v.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\0", "\\0", StringComparison.Ordinal)));

    /// <summary>Hands out the given chunks, one per read (a read smaller than a chunk gets the chunk's first part).</summary>
    private sealed class ChunkedStream(byte[][] chunks) : Stream
    {
        private int _chunk;
        private int _offset;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_chunk < chunks.Length && _offset == chunks[_chunk].Length)
            {
                _chunk++;
                _offset = 0;
            }

            if (_chunk == chunks.Length)
            {
                return ValueTask.FromResult(0);
            }

            var count = Math.Min(buffer.Length, chunks[_chunk].Length - _offset);
            chunks[_chunk].AsSpan(_offset, count).CopyTo(buffer.Span);
            _offset += count;
            return ValueTask.FromResult(count);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
