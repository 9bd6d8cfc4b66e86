using System.Buffers;
using System.Text;
using Herald.Redis.Protocol;
using static Herald.Testing.TestSequences;

namespace Herald.Redis.Tests;

public class RespParserTests
{
    public static TheoryData<string, RespValue> Frames => new()
    {
        { "+OK\r\n", RespValue.SimpleString("OK") },
        { "+\r\n", RespValue.SimpleString(string.Empty) },
        { "-ERR unknown command 'FOO'\r\n", RespValue.Error("ERR unknown command 'FOO'") },
        { ":0\r\n", RespValue.Integer(0) },
        { ":42\r\n", RespValue.Integer(42) },
        { ":-9223372036854775808\r\n", RespValue.Integer(long.MinValue) },
        { ":9223372036854775807\r\n", RespValue.Integer(long.MaxValue) },
        { "$5\r\nhello\r\n", RespValue.BulkString("hello") },
        { "$0\r\n\r\n", RespValue.BulkString(string.Empty) },
        { "$4\r\na\r\nb\r\n", RespValue.BulkString("a\r\nb") },
        { "$-1\r\n", RespValue.NullBulkString },
        { "*-1\r\n", RespValue.NullArray },
        { "*0\r\n", RespValue.Array() },
        {
            "*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$2\r\nhi\r\n",
            RespValue.Array(RespValue.BulkString("message"), RespValue.BulkString("chan"), RespValue.BulkString("hi"))
        },
        {
            "*4\r\n:1\r\n*2\r\n+a\r\n*1\r\n$-1\r\n*-1\r\n-E x\r\n",
            RespValue.Array(
                RespValue.Integer(1),
                RespValue.Array(RespValue.SimpleString("a"), RespValue.Array(RespValue.NullBulkString)),
                RespValue.NullArray,
                RespValue.Error("E x"))
        },
        { "*2\r\n*0\r\n*0\r\n", RespValue.Array(RespValue.Array(), RespValue.Array()) },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void Parses_every_type(string frame, RespValue expected)
    {
        var buffer = Contiguous(frame);
        Assert.True(RespParser.TryParse(ref buffer, out var value));
        Assert.Equal(expected, value);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Incomplete_frame_at_every_split_point_returns_false_and_leaves_the_buffer(string frame, RespValue expected)
    {
        var bytes = Bytes(frame);
        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
            var before = buffer;
            Assert.False(RespParser.TryParse(ref buffer, out _), $"a prefix of {length} bytes parsed");
            Assert.Equal(before, buffer);
        }

        var whole = new ReadOnlySequence<byte>(bytes);
        Assert.True(RespParser.TryParse(ref whole, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Parses_frames_split_across_segments_at_every_point(string frame, RespValue expected)
    {
        var bytes = Bytes(frame);
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var buffer = Split(bytes, cut);
            Assert.True(RespParser.TryParse(ref buffer, out var value), $"split at {cut}");
            Assert.Equal(expected, value);
            Assert.True(buffer.IsEmpty);
        }

        var bytewise = Bytewise(bytes);
        Assert.True(RespParser.TryParse(ref bytewise, out var fromBytewise));
        Assert.Equal(expected, fromBytewise);
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void Resumed_scanner_finds_the_frame_as_bytes_trickle_in(string frame, RespValue expected)
    {
        // The connection keeps one scanner per socket and calls it again as each read adds bytes.
        _ = expected;
        var bytes = Bytes(frame);
        var scanner = default(RespFrameScanner);
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(scanner.TryScan(Split(bytes[..length], length / 2), out _), $"a prefix of {length} bytes");
        }

        Assert.True(scanner.TryScan(Split(bytes, bytes.Length / 3), out var frameLength));
        Assert.Equal(bytes.Length, frameLength);

        // Reset after a whole frame: the same scanner reads the next one from scratch.
        Assert.True(scanner.TryScan(new ReadOnlySequence<byte>(bytes), out frameLength));
        Assert.Equal(bytes.Length, frameLength);
    }

    [Fact]
    public void Parses_consecutive_frames_and_stops_at_a_partial_one()
    {
        var buffer = Contiguous("+OK\r\n:7\r\n$3\r\nabc\r\n$10\r\npart");
        Assert.True(RespParser.TryParse(ref buffer, out var first));
        Assert.True(RespParser.TryParse(ref buffer, out var second));
        Assert.True(RespParser.TryParse(ref buffer, out var third));
        Assert.False(RespParser.TryParse(ref buffer, out _));
        Assert.Equal(RespValue.SimpleString("OK"), first);
        Assert.Equal(7, second.AsInt64());
        Assert.Equal("abc", third.AsString());
        Assert.Equal("$10\r\npart", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void TryScan_reports_the_frame_length_without_consuming()
    {
        var buffer = Contiguous("*2\r\n:1\r\n:2\r\n+next\r\n");
        Assert.True(RespParser.TryScan(buffer, out var length));
        Assert.Equal(12, length);
    }

    [Fact]
    public void Binary_bulk_strings_keep_every_byte()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var frame = Bytes("$256\r\n").Concat(payload).Concat(Bytes("\r\n")).ToArray();
        var buffer = Split(frame, 3, 100, 200);
        Assert.True(RespParser.TryParse(ref buffer, out var value));
        Assert.Equal(payload, value.AsBytes());
    }

    [Fact]
    public void Accepts_nesting_up_to_the_limit()
    {
        var frame = string.Concat(Enumerable.Repeat("*1\r\n", RespParser.MaxDepth)) + ":1\r\n";
        var buffer = Contiguous(frame);
        Assert.True(RespParser.TryParse(ref buffer, out var value));
        for (var i = 0; i < RespParser.MaxDepth; i++)
        {
            value = Assert.Single(value.Items);
        }

        Assert.Equal(1, value.AsInt64());
    }

    [Fact]
    public void Rejects_nesting_beyond_the_limit_before_the_frame_is_complete()
    {
        var buffer = Contiguous(string.Concat(Enumerable.Repeat("*1\r\n", RespParser.MaxDepth + 1)));
        var error = Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));
        Assert.Contains("32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_bulk_strings_over_512_MB_from_the_header_alone()
    {
        var buffer = Contiguous($"${RespParser.MaxBulkLength + 1}\r\n");
        Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));

        // Exactly the limit is allowed: it is just incomplete here.
        buffer = Contiguous($"${RespParser.MaxBulkLength}\r\nabc");
        Assert.False(RespParser.TryParse(ref buffer, out _));
    }

    [Theory]
    [InlineData("!3\r\nabc\r\n")]
    [InlineData("$-2\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("$abc\r\n")]
    [InlineData("$\r\n")]
    [InlineData(":12x\r\n")]
    [InlineData(":99999999999999999999\r\n")]
    [InlineData("*3000000000\r\n")]
    [InlineData("$3\r\nabcXY")]
    [InlineData("+OK\n")]
    [InlineData("*1\r\n?\r\n")]
    public void Rejects_malformed_frames(string frame)
    {
        var buffer = Contiguous(frame);
        Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));
    }

    [Fact]
    public void Rejects_a_length_line_that_never_ends()
    {
        var buffer = Contiguous("$1234567890123456789012345");
        Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));
    }

    [Fact]
    public void Rejects_a_status_line_longer_than_a_megabyte_without_crlf()
    {
        var buffer = Contiguous("+" + new string('a', (1024 * 1024) + 1));
        Assert.Throws<RedisProtocolException>(() => RespParser.TryParse(ref buffer, out _));
    }

    [Fact]
    public void Value_helpers()
    {
        Assert.True(RespValue.NullBulkString.IsNull);
        Assert.True(default(RespValue).IsNull);
        Assert.Null(RespValue.NullBulkString.AsString());
        Assert.Null(RespValue.NullBulkString.AsBytes());
        Assert.True(RespValue.NullArray.IsNull);
        Assert.Empty(RespValue.NullArray.Items);
        Assert.False(RespValue.BulkString(string.Empty).IsNull);

        Assert.Equal(12, RespValue.BulkString("12").AsInt64());
        Assert.Equal(-3, RespValue.SimpleString("-3").AsInt64());
        Assert.Equal("42", RespValue.Integer(42).AsString());
        Assert.Equal("x"u8.ToArray(), RespValue.SimpleString("x").AsBytes());
        Assert.True(RespValue.Error("ERR x").IsError);

        Assert.Throws<InvalidOperationException>(() => RespValue.BulkString("abc").AsInt64());
        Assert.Throws<InvalidOperationException>(() => RespValue.NullBulkString.AsInt64());
        Assert.Throws<InvalidOperationException>(() => RespValue.Integer(1).Items);
        Assert.Throws<InvalidOperationException>(() => RespValue.Array().AsString());
        Assert.Throws<InvalidOperationException>(() => RespValue.Integer(1).Memory);

        Assert.Equal("[OK, (integer) 1, \"b\", (nil)]", RespValue.Array(
            RespValue.SimpleString("OK"), RespValue.Integer(1), RespValue.BulkString("b"), RespValue.NullBulkString).ToString());
    }
}
