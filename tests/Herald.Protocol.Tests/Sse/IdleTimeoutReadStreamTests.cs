using System.IO.Pipelines;
using Herald.Protocol.Sse;

namespace Herald.Protocol.Tests.Sse;

public sealed class IdleTimeoutReadStreamTests
{
    [Fact]
    public async Task ReadAsync_NoBytesWithinTimeout_ThrowsTimeoutException()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutReadStream(pipe.Reader.AsStream(), TimeSpan.FromMilliseconds(100));

        var read = stream.ReadAsync(new byte[16]).AsTask();

        await Assert.ThrowsAsync<TimeoutException>(() => read.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ReadAsync_BytesArrive_ResetsTheTimer()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutReadStream(pipe.Reader.AsStream(), TimeSpan.FromSeconds(5));
        await pipe.Writer.WriteAsync(": heartbeat\n\n"u8.ToArray());

        var n = await stream.ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(13, n);
    }

    [Fact]
    public async Task ReadAsync_CallerCancels_ThrowsOperationCanceled()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutReadStream(pipe.Reader.AsStream(), TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.ReadAsync(new byte[16], cts.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ReadAsync_IdleWithACustomError_ThrowsThatError()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutReadStream(pipe.Reader.AsStream(), TimeSpan.FromMilliseconds(100), t => new IOException($"idle {t.TotalMilliseconds}"));

        var error = await Assert.ThrowsAsync<IOException>(() => stream.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal("idle 100", error.Message);
    }

    [Fact]
    public async Task ReadAsync_InfiniteTimeout_WaitsForBytes()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutReadStream(pipe.Reader.AsStream(), Timeout.InfiniteTimeSpan);
        var read = stream.ReadAsync(new byte[16]).AsTask();
        await pipe.Writer.WriteAsync("x"u8.ToArray());

        Assert.Equal(1, await read.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
