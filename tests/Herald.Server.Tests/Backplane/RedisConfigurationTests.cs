using Herald.Server.Backplane;
using Herald.Testing;
using StackExchange.Redis;

namespace Herald.Server.Tests.Backplane;

/// <summary>
/// <c>Herald:Redis:Url</c>'s one parser: today's URLs and StackExchange.Redis configuration strings give the same
/// options, errors never quote a password, and what the parser builds really connects — or is refused — over TLS
/// and with ACL credentials, against real servers.
/// </summary>
public sealed class RedisConfigurationTests
{
    [Theory]
    [InlineData("redis://127.0.0.1:6380/2", "127.0.0.1:6380", null, null, 2, false)]
    [InlineData("redis://cache.internal", "cache.internal:6379", null, null, 0, false)]
    [InlineData("rediss://alice:wonder%20land@cache.internal:6390", "cache.internal:6390", "alice", "wonder land", 0, true)]
    [InlineData("redis://:p%40ss%3Aword@127.0.0.1:6379/0", "127.0.0.1:6379", null, "p@ss:word", 0, false)]
    [InlineData("127.0.0.1:6380,defaultDatabase=2", "127.0.0.1:6380", null, null, 2, false)]
    [InlineData("cache.internal:6390,user=alice,password=wonder land,ssl=true", "cache.internal:6390", "alice", "wonder land", null, true)]
    public void Parse_UrlOrConfigurationString_GivesTheSameOptions(string value, string endpoint, string? user, string? password, int? database, bool tls)
    {
        var options = RedisConfiguration.Parse(value);
        Assert.Equal([endpoint], options.EndPoints.Select(EndPointCollection.ToString));
        Assert.Equal(user, options.User);
        Assert.Equal(password, options.Password);
        Assert.Equal(database, options.DefaultDatabase is 0 && database is null ? null : options.DefaultDatabase);
        Assert.Equal(tls, options.Ssl);
    }

    [Fact]
    public void Parse_SentinelConfigurationString_NamesTheSentinelsAndTheService()
    {
        var options = RedisConfiguration.Parse("127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381,serviceName=herald");
        Assert.Equal(3, options.EndPoints.Count);
        Assert.Equal("herald", options.ServiceName);
        Assert.Equal("redis://127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381 sentinel service herald", RedisConfiguration.Describe(options));
    }

    [Theory]
    [InlineData("http://u:hunter2@127.0.0.1:6379", "must start with redis:// or rediss://")]
    [InlineData("redis://u:hunter2@127.0.0.1:6379/x", "database number")]
    [InlineData("redis://u:hunter2@127.0.0.1:6379?db=1", "query string")]
    [InlineData("127.0.0.1:6379,password=hunter2,colour=blue", "colour")]
    [InlineData("password=hunter2", "names no Redis endpoint")]
    public void Parse_BadValue_SaysWhyWithoutThePassword(string value, string expected)
    {
        var error = Assert.Throws<FormatException>(() => RedisConfiguration.Parse(value));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NeverShowsThePassword()
    {
        var text = RedisConfiguration.Describe(RedisConfiguration.Parse("rediss://alice:hunter2@127.0.0.1:6390"));
        Assert.Equal("rediss://127.0.0.1:6390 user alice", text);
    }

    [Fact]
    public async Task TrustIssuer_ConnectsToAServerItsCaSigned_AndWithoutIt_TheConnectionIsRefused()
    {
        await using var redis = new TlsRedisServerFixture();
        await redis.InitializeAsync();

        var trusting = Strict(RedisConfiguration.Parse(redis.Url));
        RedisConfiguration.TrustIssuer(trusting, redis.CertificateFile);
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(trusting).WaitAsync(TimeSpan.FromSeconds(15)))
        {
            Assert.Equal("PONG", (await connection.GetDatabase().ExecuteAsync("PING")).ToString());
        }

        // The system store does not know the test's CA: the certificate is refused, not silently accepted.
        await Assert.ThrowsAsync<RedisConnectionException>(
            () => ConnectionMultiplexer.ConnectAsync(Strict(RedisConfiguration.Parse(redis.Url))).WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task AclUser_FromUrlOrConfigurationString_IsWhoRedisSees_AndAWrongPasswordIsRefused()
    {
        await using var redis = await RedisServerFixture.StartNewAsync(new RedisServerSettings
        {
            Password = "s3cret:@/ pass",
            Users = [("alice", "wonder land")],
        });

        foreach (var value in new[] { redis.UrlFor(user: "alice", password: "wonder land"), $"127.0.0.1:{redis.Port},user=alice,password=wonder land" })
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(Strict(RedisConfiguration.Parse(value))).WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal("alice", (await connection.GetDatabase().ExecuteAsync("ACL", "WHOAMI")).ToString());
        }

        await using (var admin = await ConnectionMultiplexer.ConnectAsync(Strict(RedisConfiguration.Parse(redis.Url))).WaitAsync(TimeSpan.FromSeconds(15)))
        {
            Assert.Equal("default", (await admin.GetDatabase().ExecuteAsync("ACL", "WHOAMI")).ToString());
        }

        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(
            Strict(RedisConfiguration.Parse(redis.UrlFor(user: "alice", password: "hunter2")))).WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    // The bus never gives up connecting; these tests want the first attempt's verdict.
    private static ConfigurationOptions Strict(ConfigurationOptions options)
    {
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        options.ConnectTimeout = 5000;
        return options;
    }
}
