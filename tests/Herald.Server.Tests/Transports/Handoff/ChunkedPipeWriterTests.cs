using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Herald.Server.Transports.Handoff;

namespace Herald.Server.Tests.Transports.Handoff;

/// <summary>The chunked body of a handed-off stream, byte for byte, over a real <see cref="Pipe"/> standing for the connection.</summary>
public sealed class ChunkedPipeWriterTests
{
    // No back-pressure: the tests read what was sent only after the flush.
    private readonly Pipe _connection = new(new PipeOptions(pauseWriterThreshold: 0));

    [Fact]
    public async Task SeveralWrites_OneFlush_GoOutAsOneChunk()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        writer.Write("id: 1\ndata: a\n\n"u8);
        writer.Write("id: 2\ndata: bc\n\n"u8);
        Assert.Equal(31, writer.UnflushedBytes);
        Assert.Equal("", Sent()); // nothing reaches the connection before the flush

        await writer.FlushAsync();

        Assert.Equal("1f\r\nid: 1\ndata: a\n\nid: 2\ndata: bc\n\n\r\n", Sent());
        Assert.Equal(0, writer.UnflushedBytes);
    }

    [Fact]
    public async Task EachFlush_IsItsOwnChunk()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        writer.Write(": hb\n\n"u8);
        await writer.FlushAsync();
        await writer.WriteAsync("data: x\n\n"u8.ToArray());

        Assert.Equal("6\r\n: hb\n\n\r\n9\r\ndata: x\n\n\r\n", Sent());
    }

    [Fact]
    public async Task EmptyFlush_SendsNoChunk_SinceAnEmptyChunkWouldEndTheBody()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        var result = await writer.FlushAsync();
        Assert.False(result.IsCompleted);
        Assert.Equal("", Sent());

        writer.Write("a"u8);
        await writer.FlushAsync();
        await writer.FlushAsync();
        Assert.Equal("1\r\na\r\n", Sent());
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(100_000)]
    [InlineData(1 << 20)]
    public async Task LargePayload_WrittenInPieces_IsOneChunkWithItsSizeInHex(int size)
    {
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)('a' + (i % 26));
        }

        var writer = new ChunkedPipeWriter(_connection.Writer);
        // Uneven pieces, through both GetSpan and GetMemory, so the buffer grows while holding data.
        var offset = 0;
        var piece = 1;
        while (offset < size)
        {
            var n = Math.Min(piece, size - offset);
            if (piece % 2 == 0)
            {
                payload.AsSpan(offset, n).CopyTo(writer.GetSpan(n));
            }
            else
            {
                payload.AsMemory(offset, n).CopyTo(writer.GetMemory(n));
            }

            writer.Advance(n);
            offset += n;
            piece = piece * 3 + 1;
        }

        await writer.FlushAsync();

        var expected = Encoding.ASCII.GetBytes($"{size:x}\r\n").Concat(payload).Concat("\r\n"u8.ToArray()).ToArray();
        Assert.Equal(expected, SentBytes());
    }

    [Fact]
    public async Task CompleteAsync_SendsWhatIsPendingThenTheLastChunk_AndLeavesTheConnectionOpen()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        writer.Write("event: disconnect\n\n"u8);

        await writer.CompleteAsync();

        Assert.Equal("13\r\nevent: disconnect\n\n\r\n0\r\n\r\n", Sent());
        // The connection is Kestrel's: it is still writable after the body ended.
        await _connection.Writer.WriteAsync("next"u8.ToArray());
        Assert.Equal("next", Sent());
        Assert.Throws<ObjectDisposedException>(() => writer.GetSpan());
        await writer.CompleteAsync(); // ending twice writes nothing more
        Assert.Equal("", Sent());
    }

    [Fact]
    public async Task CompleteWithAnException_AbandonsTheBody_WithoutTheLastChunk()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        writer.Write("half"u8);

        await writer.CompleteAsync(new IOException("gone"));
        await _connection.Writer.FlushAsync();

        Assert.Equal("", Sent());
    }

    [Fact]
    public void Advance_PastTheMemoryHandedOut_Throws()
    {
        var writer = new ChunkedPipeWriter(_connection.Writer);
        var length = writer.GetSpan(10).Length;
        Assert.Throws<InvalidOperationException>(() => writer.Advance(length + 1));
    }

    private string Sent() => Encoding.ASCII.GetString(SentBytes());

    private byte[] SentBytes()
    {
        if (!_connection.Reader.TryRead(out var result))
        {
            return [];
        }

        var bytes = result.Buffer.ToArray();
        _connection.Reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }
}
