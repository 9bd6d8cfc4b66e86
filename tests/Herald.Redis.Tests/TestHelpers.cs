using System.Threading.Channels;

namespace Herald.Redis.Tests;

/// <summary>Options and waits shared by the integration tests; every wait is bounded.</summary>
internal static class TestHelpers
{
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    public static RedisClientOptions Options(string url, string? clientName = null) => new()
    {
        Endpoint = RedisEndpoint.Parse(url),
        ClientName = clientName,
        ConnectTimeout = TimeSpan.FromSeconds(3),

        // Short delays keep the outage tests fast; the backoff itself is unit-tested.
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(WaitLimit);

    public static Task Within(this Task task) => task.WaitAsync(WaitLimit);

    public static async Task<RedisMessage> NextAsync(this ChannelReader<RedisMessage> messages)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        return await messages.ReadAsync(timeout.Token);
    }

    /// <summary>Completes when <paramref name="connection"/> next reports the <paramref name="connected"/> state.</summary>
    public static Task WhenState(RedisConnection connection, bool connected)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, RedisConnectionStateChangedEventArgs e)
        {
            if (e.IsConnected == connected)
            {
                connection.StateChanged -= Handler;
                done.TrySetResult();
            }
        }

        connection.StateChanged += Handler;
        return done.Task.WaitAsync(WaitLimit);
    }

    /// <summary>Completes when <paramref name="subscriber"/> next reports the <paramref name="connected"/> state.</summary>
    public static Task WhenState(RedisSubscriber subscriber, bool connected)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, RedisConnectionStateChangedEventArgs e)
        {
            if (e.IsConnected == connected)
            {
                subscriber.StateChanged -= Handler;
                done.TrySetResult();
            }
        }

        subscriber.StateChanged += Handler;
        return done.Task.WaitAsync(WaitLimit);
    }

    /// <summary>Completes on the next <see cref="RedisSubscriber.Reconnected"/>.</summary>
    public static Task WhenReconnected(RedisSubscriber subscriber)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, EventArgs e)
        {
            subscriber.Reconnected -= Handler;
            done.TrySetResult();
        }

        subscriber.Reconnected += Handler;
        return done.Task.WaitAsync(WaitLimit);
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds: for state that lives in another process (the server's client
    /// list), which offers nothing to await.
    /// </summary>
    public static async Task Eventually(Func<Task<bool>> condition, string because)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, because);
            await Task.Delay(20);
        }
    }
}
