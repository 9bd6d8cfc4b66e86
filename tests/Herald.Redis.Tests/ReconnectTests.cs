using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Redis.Protocol;
using Herald.Testing;
using Microsoft.Extensions.Logging;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

/// <summary>Outage tests. They stop and restart this class's own server, and each leaves it running.</summary>
public sealed class ReconnectTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    public async Task InitializeAsync() => await server.StartAsync();

    public Task DisposeAsync() => server.StartAsync();

    [Fact]
    public async Task Server_restart_during_a_subscription_reconnects_both_sides_and_resubscribes()
    {
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url, "herald-pub")).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url, "herald-sub")).Within();
        await subscriber.SubscribeAsync("ws:dialog:1").Within();
        await subscriber.PSubscribeAsync("ws:dialog:*").Within();
        await publisher.PublishAsync("ws:dialog:1", "before"u8.ToArray()).Within();
        Assert.Equal("before", Text(await subscriber.Messages.NextAsync()));
        Assert.Equal("before", Text(await subscriber.Messages.NextAsync()));

        var subscriberLost = WhenState(subscriber, connected: false);
        var publisherLost = WhenState(publisher, connected: false);
        var subscriberBack = WhenState(subscriber, connected: true);
        var resubscribed = WhenReconnected(subscriber);
        var publisherBack = WhenState(publisher, connected: true);

        await server.RestartAsync();
        await Task.WhenAll(subscriberLost, publisherLost, subscriberBack, resubscribed, publisherBack);

        Assert.True(subscriber.IsConnected);
        Assert.True(publisher.IsConnected);
        Assert.Equal(1, subscriber.ReconnectCount);
        Assert.Equal(1, publisher.ReconnectCount);

        // Resubscribed before Reconnected fired, so a message published now reaches both subscriptions.
        Assert.Equal(2, await publisher.PublishAsync("ws:dialog:1", "after"u8.ToArray()).Within());
        var messages = new[] { await subscriber.Messages.NextAsync(), await subscriber.Messages.NextAsync() };
        Assert.All(messages, m => Assert.Equal("after", Text(m)));
        Assert.Single(messages, m => m.Pattern is null);
        Assert.Single(messages, m => m.Pattern == "ws:dialog:*");

        // The handshake was repeated on the new connections.
        Assert.Equal("herald-pub", (await publisher.ExecuteAsync("CLIENT", "GETNAME").Within()).AsString());
    }

    [Fact]
    public async Task Commands_fail_fast_while_the_server_is_down_and_work_again_after()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        await subscriber.SubscribeAsync("down:existing").Within();
        var lost = WhenState(connection, connected: false);
        var subscriberLost = WhenState(subscriber, connected: false);

        await server.StopAsync();
        await Task.WhenAll(lost, subscriberLost);
        Assert.False(connection.IsConnected);
        Assert.False(subscriber.IsConnected);

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => connection.ExecuteAsync("PING").Within());
        await Assert.ThrowsAsync<RedisConnectionException>(() => connection.PublishAsync("down:existing", "x"u8.ToArray()).Within());
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"failing took {stopwatch.Elapsed}");
        Assert.Contains("not connected", error.Message, StringComparison.Ordinal);

        // A subscription made while down fails fast too, but is kept and made on reconnect.
        var subscribeError = await Assert.ThrowsAsync<RedisConnectionException>(() => subscriber.SubscribeAsync("down:new").Within());
        Assert.Contains("kept", subscribeError.Message, StringComparison.Ordinal);

        var back = WhenState(connection, connected: true);
        var resubscribed = WhenReconnected(subscriber);
        await server.StartAsync();
        await Task.WhenAll(back, resubscribed);

        Assert.Equal("PONG", (await connection.ExecuteAsync("PING").Within()).AsString());
        Assert.Equal(1, await connection.PublishAsync("down:new", "n"u8.ToArray()).Within());
        Assert.Equal(1, await connection.PublishAsync("down:existing", "e"u8.ToArray()).Within());
        Assert.Equal("down:new", (await subscriber.Messages.NextAsync()).Channel);
        Assert.Equal("down:existing", (await subscriber.Messages.NextAsync()).Channel);
    }

    [Fact]
    public async Task A_hung_server_is_detected_by_the_heartbeat_and_the_subscriber_recovers()
    {
        var options = Options(server.Url);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        options.ConnectTimeout = TimeSpan.FromMilliseconds(500);
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(options).Within();
        await subscriber.SubscribeAsync("hung:1").Within();
        var lost = WhenState(subscriber, connected: false);
        var resubscribed = WhenReconnected(subscriber);

        await server.PauseAsync();
        try
        {
            // The socket stays open; only the unanswered PING reveals the server is gone.
            await lost;
        }
        finally
        {
            await server.ResumeAsync();
        }

        await resubscribed;
        Assert.Equal(1, await publisher.PublishAsync("hung:1", "alive"u8.ToArray()).Within());
        Assert.Equal("alive", Text(await subscriber.Messages.NextAsync()));
    }

    [Fact]
    public async Task Commands_in_flight_fail_when_the_server_dies()
    {
        await using var observer = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var blocked = connection.ExecuteAsync("BLPOP", "inflight:never", "0");
        await Eventually(
            async () => (await observer.ExecuteAsync("CLIENT", "LIST").Within()).AsString()!.Contains("cmd=blpop", StringComparison.Ordinal),
            "BLPOP should reach the server");

        await server.StopAsync();
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => blocked.Within());
        Assert.Contains("BLPOP", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_command_completes_or_fails_when_the_server_restarts_under_load()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var back = WhenState(connection, connected: true);
        var commands = new List<Task<RespValue>>();
        var load = Task.Run(async () =>
        {
            // Keep the pipeline busy across the restart, including while it is down (those fail fast).
            while (!back.IsCompleted && commands.Count < 20_000)
            {
                for (var i = 0; i < 100; i++)
                {
                    commands.Add(connection.ExecuteAsync("INCR", "load:counter"));
                }

                await Task.Delay(1);
            }
        });

        await Task.Delay(50);
        await server.RestartAsync();
        await back;
        await load.Within();

        // None may hang: each either got its reply or failed with a connection error.
        await Task.WhenAll(commands.Select(c => c.ContinueWith(_ => { }, TaskScheduler.Default))).Within();
        Assert.All(commands, c => Assert.True(
            c.IsCompletedSuccessfully || c.Exception?.InnerException is RedisConnectionException, c.Exception?.ToString()));
        Assert.Contains(commands, c => c.IsCompletedSuccessfully);
        Assert.Contains(commands, c => c.IsFaulted);
        Assert.Equal("PONG", (await connection.ExecuteAsync("PING").Within()).AsString());
    }

    [Fact]
    public async Task Dispose_while_reconnecting_stops_promptly()
    {
        var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var subscriber = await RedisSubscriber.ConnectAsync(Options(server.Url)).Within();
        var lost = WhenState(connection, connected: false);
        var subscriberLost = WhenState(subscriber, connected: false);
        await server.StopAsync();
        await Task.WhenAll(lost, subscriberLost);

        var stopwatch = Stopwatch.StartNew();
        await connection.DisposeAsync().AsTask().Within();
        await subscriber.DisposeAsync().AsTask().Within();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {stopwatch.Elapsed}");
        Assert.True(connection.BackgroundWork.IsCompleted);
        Assert.True(subscriber.BackgroundWork.IsCompleted);
        Assert.Equal(0, connection.ReconnectCount);
    }

    [Fact]
    public async Task First_connect_times_out_against_a_server_that_never_answers()
    {
        // Accepts TCP connections but never replies, like a hung server.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var options = Options($"redis://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");
        options.ConnectTimeout = TimeSpan.FromMilliseconds(300);

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(options).Within());
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"timing out took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task A_fault_while_supervising_the_connection_does_not_stop_reconnecting()
    {
        // The logger is what the supervisor calls between noticing the loss and reconnecting; one that throws there
        // used to end supervision for good: the subscriber stayed deaf after the server came back.
        var logger = new ThrowOnceLogger("lost its connection");
        var options = Options(server.Url);
        options.Logger = logger;
        await using var publisher = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(options).Within();
        await subscriber.SubscribeAsync("fault:1").Within();
        var resubscribed = WhenReconnected(subscriber);

        await server.RestartAsync();
        await resubscribed;

        Assert.True(logger.Thrown);
        Assert.Equal(1, await publisher.PublishAsync("fault:1", "after"u8.ToArray()).Within());
        Assert.Equal("after", Text(await subscriber.Messages.NextAsync()));
    }

    private static string Text(RedisMessage message) => Encoding.UTF8.GetString(message.Payload.Span);

    /// <summary>Throws the first time a message containing <paramref name="text"/> is logged.</summary>
    private sealed class ThrowOnceLogger(string text) : ILogger
    {
        private int _thrown;

        public bool Thrown => Volatile.Read(ref _thrown) != 0;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).Contains(text, StringComparison.Ordinal) && Interlocked.Exchange(ref _thrown, 1) == 0)
            {
                throw new InvalidOperationException("injected: the logger failed");
            }
        }
    }
}
