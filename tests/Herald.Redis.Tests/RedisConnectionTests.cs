using System.Diagnostics;
using Herald.Redis.Protocol;
using Herald.Testing;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

public class RedisConnectionTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Ping_returns_the_round_trip_time()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var rtt = await connection.PingAsync().Within();
        Assert.InRange(rtt, TimeSpan.Zero, WaitLimit);
        Assert.True(connection.IsConnected);
        Assert.Equal(0, connection.ReconnectCount);
    }

    [Fact]
    public async Task Set_and_get_round_trip_text_and_binary_values()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        Assert.Equal("OK", (await connection.ExecuteAsync("SET", "conn:text", "héllo").Within()).AsString());
        Assert.Equal("OK", (await connection.ExecuteAsync("SET", "conn:bin", binary).Within()).AsString());
        Assert.Equal("OK", (await connection.ExecuteAsync("SET", "conn:num", 41L).Within()).AsString());

        Assert.Equal("héllo", (await connection.ExecuteAsync("GET", "conn:text").Within()).AsString());
        Assert.Equal(binary, (await connection.ExecuteAsync("GET", "conn:bin").Within()).AsBytes());
        Assert.Equal(42, (await connection.ExecuteAsync("INCRBY", "conn:num", 1).Within()).AsInt64());
        Assert.True((await connection.ExecuteAsync("GET", "conn:missing").Within()).IsNull);

        var list = await connection.ExecuteAsync("MGET", "conn:text", "conn:missing").Within();
        Assert.Equal(RespValue.Array(RespValue.BulkString("héllo"), RespValue.NullBulkString), list);
    }

    [Fact]
    public async Task Server_errors_become_RedisServerException_with_the_error_text()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await connection.ExecuteAsync("SET", "conn:string", "x").Within();

        var error = await Assert.ThrowsAsync<RedisServerException>(
            () => connection.ExecuteAsync("LPUSH", "conn:string", "y").Within());
        Assert.StartsWith("WRONGTYPE Operation against a key holding the wrong kind of value", error.Message);
        Assert.Equal("WRONGTYPE", error.ErrorCode);

        var unknown = await Assert.ThrowsAsync<RedisServerException>(() => connection.ExecuteAsync("NOSUCHCMD").Within());
        Assert.StartsWith("ERR unknown command", unknown.Message);

        // The pipeline is still in step after errors.
        Assert.Equal("x", (await connection.ExecuteAsync("GET", "conn:string").Within()).AsString());
    }

    [Fact]
    public async Task Ten_thousand_pipelined_commands_complete_in_order()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await connection.ExecuteAsync("DEL", "conn:counter").Within();

        var stopwatch = Stopwatch.StartNew();
        var replies = new Task<RespValue>[10_000];
        for (var i = 0; i < replies.Length; i++)
        {
            replies[i] = connection.ExecuteAsync("INCR", "conn:counter");
        }

        var results = await Task.WhenAll(replies).Within();
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i + 1, results[i].AsInt64());
        }

        // Pipelined, this is a few milliseconds; one round trip each would still pass, so this only catches hangs.
        Assert.True(stopwatch.Elapsed < WaitLimit);
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_replies()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                var key = $"conn:worker:{worker}:{i}";
                var set = connection.ExecuteAsync("SET", key, $"{worker}/{i}");
                var get = connection.ExecuteAsync("GET", key);
                await set;
                Assert.Equal($"{worker}/{i}", (await get).AsString());
            }
        }));
        await Task.WhenAll(workers).Within();
    }

    [Fact]
    public async Task Selects_the_database_from_the_url_and_sets_the_client_name()
    {
        await using var db5 = await RedisConnection.ConnectAsync(Options(server.UrlFor(database: 5), "herald-db5")).Within();
        await using var db0 = await RedisConnection.ConnectAsync(Options(server.UrlFor(database: 0))).Within();

        await db5.ExecuteAsync("SET", "conn:db", "five").Within();
        Assert.True((await db0.ExecuteAsync("GET", "conn:db").Within()).IsNull);
        Assert.Equal("five", (await db5.ExecuteAsync("GET", "conn:db").Within()).AsString());
        Assert.Equal("herald-db5", (await db5.ExecuteAsync("CLIENT", "GETNAME").Within()).AsString());
        var info = (await db5.ExecuteAsync("CLIENT", "INFO").Within()).AsString();
        Assert.Contains(" db=5 ", info, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejects_commands_that_would_break_the_shared_pipeline_and_bad_arguments()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var subscribe = Assert.Throws<ArgumentException>(() => { _ = connection.ExecuteAsync("subscribe", "x"); });
        Assert.Contains("RedisSubscriber", subscribe.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => { _ = connection.ExecuteAsync("MONITOR"); });
        Assert.Throws<ArgumentException>(() => { _ = connection.ExecuteAsync("SET", "k", 1.5); });
        Assert.Throws<ArgumentException>(() => { _ = connection.ExecuteAsync("SET", "k", null!); });
        Assert.Equal("PONG", (await connection.ExecuteAsync("PING").Within()).AsString());
    }

    [Fact]
    public async Task Publish_returns_the_number_of_receivers()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        Assert.Equal(0, await connection.PublishAsync("conn:nobody", "x"u8.ToArray()).Within());
    }

    [Fact]
    public async Task Fails_fast_beyond_the_pending_command_limit()
    {
        var options = Options(server.Url);
        options.MaxPendingCommands = 1;
        await using var connection = await RedisConnection.ConnectAsync(options).Within();

        // BLPOP holds the connection's only pending slot until it times out.
        var blocked = connection.ExecuteAsync("BLPOP", "conn:never", "0.3");
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => connection.ExecuteAsync("PING").Within());
        Assert.Contains("MaxPendingCommands", error.Message, StringComparison.Ordinal);
        Assert.True((await blocked.Within()).IsNull);
        Assert.Equal("PONG", (await connection.ExecuteAsync("PING").Within()).AsString());
    }

    [Fact]
    public async Task Dispose_closes_the_socket_fails_pending_commands_and_leaves_no_background_work()
    {
        var name = "herald-dispose-" + Guid.NewGuid().ToString("N")[..8];
        await using var observer = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var connection = await RedisConnection.ConnectAsync(Options(server.Url, name)).Within();
        Assert.Contains(name, await ClientList(observer), StringComparison.Ordinal);

        var blocked = connection.ExecuteAsync("BLPOP", "conn:never", "0");
        await connection.DisposeAsync().AsTask().Within();

        await Assert.ThrowsAsync<RedisConnectionException>(() => blocked.Within());
        Assert.True(connection.BackgroundWork.IsCompleted);
        Assert.False(connection.IsConnected);
        Assert.Throws<ObjectDisposedException>(() => { _ = connection.ExecuteAsync("PING"); });
        await connection.DisposeAsync();
        await Eventually(
            async () => !(await ClientList(observer)).Contains(name, StringComparison.Ordinal),
            "the server should see the disposed connection's socket close");
    }

    [Fact]
    public async Task A_command_that_has_its_reply_is_no_longer_referenced_by_the_connection()
    {
        // A queue that kept answered commands (ConcurrentQueue after TryPeek keeps every dequeued slot of its segment)
        // makes a busy publisher's finished requests survive collections; here it would keep all five payloads alive.
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        var payloads = await PublishFiveAsync(connection);
        await connection.PingAsync().Within();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(payloads, p => Assert.False(p.IsAlive, "an answered PUBLISH's payload is still reachable"));
    }

    // Not inlined, so no local of the caller's frame holds a payload while the test collects.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<WeakReference[]> PublishFiveAsync(RedisConnection connection)
    {
        var payloads = Enumerable.Range(0, 5).Select(i => new byte[64]).ToArray();
        foreach (var payload in payloads)
        {
            await connection.PublishAsync("conn:weak", payload).Within();
        }

        return payloads.Select(p => new WeakReference(p)).ToArray();
    }

    [Fact]
    public async Task First_connect_to_a_closed_port_throws_quickly()
    {
        var url = $"redis://127.0.0.1:{LoopbackPort.GetFree()}";
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(Options(url)).Within());
        Assert.Contains("127.0.0.1", error.Message, StringComparison.Ordinal);
    }

    private static async Task<string> ClientList(RedisConnection connection) =>
        (await connection.ExecuteAsync("CLIENT", "LIST").Within()).AsString()!;
}
