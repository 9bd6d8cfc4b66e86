using Herald.Testing;
using static Herald.Redis.Tests.TestHelpers;

namespace Herald.Redis.Tests;

/// <summary>A server whose default user needs a password (with URL-special characters) and an ACL user "alice".</summary>
public sealed class PasswordRedisServerFixture() : RedisServerFixture(new RedisServerSettings
{
    Password = AuthenticationTests.DefaultPassword,
    Users = [("alice", AuthenticationTests.AlicePassword)],
});

public class AuthenticationTests(PasswordRedisServerFixture server) : IClassFixture<PasswordRedisServerFixture>
{
    internal const string DefaultPassword = "s3cret:@/ pass";
    internal const string AlicePassword = "wonder land";

    [Fact]
    public async Task Authenticates_with_the_default_users_password()
    {
        await using var connection = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        Assert.Equal("default", (await connection.ExecuteAsync("ACL", "WHOAMI").Within()).AsString());
    }

    [Fact]
    public async Task Authenticates_with_user_and_password()
    {
        await using var connection = await RedisConnection.ConnectAsync(
            Options(server.UrlFor(user: "alice", password: AlicePassword))).Within();
        Assert.Equal("alice", (await connection.ExecuteAsync("ACL", "WHOAMI").Within()).AsString());
    }

    [Fact]
    public async Task Authenticates_a_user_created_with_acl_setuser_on_both_connection_kinds()
    {
        await using var admin = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await admin.ExecuteAsync("ACL", "SETUSER", "bob", "on", ">bob-pw", "~*", "&*", "+@all").Within();
        var url = server.UrlFor(database: 2, user: "bob", password: "bob-pw");

        await using var connection = await RedisConnection.ConnectAsync(Options(url, "bob-client")).Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(Options(url)).Within();
        Assert.Equal("bob", (await connection.ExecuteAsync("ACL", "WHOAMI").Within()).AsString());

        await subscriber.SubscribeAsync("auth:1").Within();
        Assert.Equal(1, await connection.PublishAsync("auth:1", "x"u8.ToArray()).Within());
        Assert.Equal("auth:1", (await subscriber.Messages.NextAsync()).Channel);
    }

    [Fact]
    public async Task A_wrong_password_fails_clearly_without_revealing_it()
    {
        var url = server.UrlFor(password: "not-the-password");
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(Options(url)).Within());
        Assert.Contains("Authentication", error.Message, StringComparison.Ordinal);
        Assert.Contains("WRONGPASS", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", error.Message, StringComparison.Ordinal);
        Assert.IsType<RedisServerException>(error.InnerException);

        var userError = await Assert.ThrowsAsync<RedisConnectionException>(
            () => RedisSubscriber.ConnectAsync(Options(server.UrlFor(user: "alice", password: "nope"))).Within());
        Assert.Contains("WRONGPASS", userError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_password_fails_clearly()
    {
        var url = $"redis://{server.Host}:{server.Port}";
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => RedisConnection.ConnectAsync(Options(url)).Within());
        Assert.Contains("requires a password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscription_the_acl_refuses_fails_with_the_server_error_and_is_not_kept()
    {
        await using var admin = await RedisConnection.ConnectAsync(Options(server.Url)).Within();
        await admin.ExecuteAsync("ACL", "SETUSER", "carol", "on", ">carol-pw", "~*", "resetchannels", "&allowed:*", "+@all").Within();
        await using var subscriber = await RedisSubscriber.ConnectAsync(
            Options(server.UrlFor(user: "carol", password: "carol-pw"))).Within();

        var error = await Assert.ThrowsAsync<RedisServerException>(() => subscriber.SubscribeAsync("secret:1").Within());
        Assert.Equal("NOPERM", error.ErrorCode);

        await subscriber.SubscribeAsync("allowed:1").Within();
        await admin.PublishAsync("allowed:1", "ok"u8.ToArray()).Within();
        Assert.Equal("allowed:1", (await subscriber.Messages.NextAsync()).Channel);

        // A reconnect re-issues only what was granted, so it succeeds instead of failing on the refused channel.
        var reconnected = WhenReconnected(subscriber);
        await admin.ExecuteAsync("CLIENT", "KILL", "USER", "carol").Within();
        await reconnected;
        await admin.PublishAsync("allowed:1", "again"u8.ToArray()).Within();
        Assert.Equal("again"u8.ToArray(), (await subscriber.Messages.NextAsync()).Payload.ToArray());
    }
}
