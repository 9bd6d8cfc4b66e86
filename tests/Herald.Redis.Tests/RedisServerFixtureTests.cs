using Herald.Testing;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

public class RedisServerFixtureTests
{
    [Fact]
    public async Task A_missing_redis_server_fails_with_the_install_hint_instead_of_skipping()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisServerFixture.StartNewAsync(
            new RedisServerSettings { ExecutablePath = "/nonexistent/redis-server" }));
        Assert.StartsWith("redis-server not found: run scripts/test.sh, which installs it", error.Message);
    }

    [Fact]
    public async Task Stop_and_start_keep_the_port_and_data_is_not_persisted()
    {
        await using var server = await RedisServerFixture.StartNewAsync(new RedisServerSettings());
        var port = server.Port;
        await using (var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within())
        {
            await connection.ExecuteAsync("SET", "fixture:key", "v").Within();
        }

        await server.StopAsync();
        Assert.False(server.IsRunning);
        await server.StartAsync();
        Assert.True(server.IsRunning);
        Assert.Equal(port, server.Port);

        await using var again = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        Assert.True((await again.ExecuteAsync("GET", "fixture:key").Within()).IsNull);
        Assert.Equal("127.0.0.1", (await again.ExecuteAsync("CONFIG", "GET", "bind").Within()).Items[1].AsString());
    }
}
