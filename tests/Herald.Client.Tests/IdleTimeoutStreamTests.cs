using System.IO.Pipelines;
using Herald.Client.Internal;

namespace Herald.Client.Tests;

public sealed class IdleTimeoutStreamTests
{
    [Fact]
    public async Task ReadAsync_NoBytesWithinTimeout_ThrowsTimeoutException()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromMilliseconds(100));

        var read = stream.ReadAsync(new byte[16]).AsTask();

        await Assert.ThrowsAsync<TimeoutException>(() => read.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ReadAsync_BytesArrive_ResetsTheTimer()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromSeconds(5));
        await pipe.Writer.WriteAsync(": heartbeat\n\n"u8.ToArray());

        var n = await stream.ReadAsync(new byte[64]).AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(13, n);
    }

    [Fact]
    public async Task ReadAsync_CallerCancels_ThrowsOperationCanceled()
    {
        var pipe = new Pipe();
        await using var stream = new IdleTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stream.ReadAsync(new byte[16], cts.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
