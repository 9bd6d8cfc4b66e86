using System.Buffers;
using System.Text;
using Herald.Redis.Protocol;

namespace Herald.Redis.Tests;

public class RespWriterTests
{
    [Fact]
    public void Writes_a_command_as_an_array_of_bulk_strings()
    {
        Assert.Equal("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", Write("SET", "key", "value"));
    }

    [Fact]
    public void Writes_a_command_without_arguments()
    {
        Assert.Equal("*1\r\n$4\r\nPING\r\n", Write("PING"));
    }

    [Fact]
    public void Writes_every_supported_argument_type()
    {
        var text = Write(
            "CMD", "é", string.Empty, new byte[] { 1, 2 }, new ReadOnlyMemory<byte>([3]), new Memory<byte>([4]), -12L, 7);
        Assert.Equal(
            "*8\r\n$3\r\nCMD\r\n$2\r\né\r\n$0\r\n\r\n$2\r\n\u0001\u0002\r\n$1\r\n\u0003\r\n$1\r\n\u0004\r\n"
            + "$3\r\n-12\r\n$1\r\n7\r\n",
            text);
    }

    [Fact]
    public void Writes_extreme_integers_as_decimal_text()
    {
        Assert.Equal(
            "*3\r\n$1\r\nX\r\n$20\r\n-9223372036854775808\r\n$11\r\n-2147483648\r\n",
            Write("X", long.MinValue, int.MinValue));
    }

    [Fact]
    public void Writes_large_payloads_across_buffer_segments()
    {
        var payload = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 31)).ToArray();
        var bigText = new string('ü', 40_000);
        var writer = new ArrayBufferWriter<byte>(16);
        RespWriter.WriteCommand(writer, "SET", payload, bigText);

        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.True(RespParser.TryParse(ref buffer, out var value));
        Assert.Equal("SET", value.Items[0].AsString());
        Assert.Equal(payload, value.Items[1].AsBytes());
        Assert.Equal(bigText, value.Items[2].AsString());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Rejects_unsupported_or_null_arguments_without_writing_anything()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => RespWriter.WriteCommand(writer, "SET", "key", 1.5));
        Assert.Throws<ArgumentException>(() => RespWriter.WriteCommand(writer, "SET", "key", null!));
        Assert.Equal(0, writer.WrittenCount);
        Assert.False(RespWriter.IsSupportedArgument(DateTime.Now));
        Assert.True(RespWriter.IsSupportedArgument(5));
    }

    [Fact]
    public void Writes_the_building_blocks()
    {
        var writer = new ArrayBufferWriter<byte>();
        RespWriter.WriteArrayHeader(writer, 2);
        RespWriter.WriteBulkString(writer, "ab");
        RespWriter.WriteBulkString(writer, 123L);
        RespWriter.WriteBulkString(writer, "x"u8);
        Assert.Equal("*2\r\n$2\r\nab\r\n$3\r\n123\r\n$1\r\nx\r\n", Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    private static string Write(string command, params object[] args)
    {
        var writer = new ArrayBufferWriter<byte>();
        RespWriter.WriteCommand(writer, command, args);
        return Encoding.UTF8.GetString(writer.WrittenSpan);
    }
}
