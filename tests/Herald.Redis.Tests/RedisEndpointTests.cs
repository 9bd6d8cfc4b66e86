namespace Herald.Redis.Tests;

public class RedisEndpointTests
{
    [Fact]
    public void Parses_host_with_defaults()
    {
        var endpoint = RedisEndpoint.Parse("redis://cache.internal");
        Assert.Equal("cache.internal", endpoint.Host);
        Assert.Equal(6379, endpoint.Port);
        Assert.Equal(0, endpoint.Database);
        Assert.Null(endpoint.User);
        Assert.Null(endpoint.Password);
        Assert.False(endpoint.UseTls);
    }

    [Fact]
    public void Parses_every_part_and_url_decodes_credentials()
    {
        var endpoint = RedisEndpoint.Parse("rediss://al%40ice:p%3Ass%2Fw%40rd@10.0.0.5:6380/3");
        Assert.Equal("10.0.0.5", endpoint.Host);
        Assert.Equal(6380, endpoint.Port);
        Assert.Equal(3, endpoint.Database);
        Assert.Equal("al@ice", endpoint.User);
        Assert.Equal("p:ss/w@rd", endpoint.Password);
        Assert.True(endpoint.UseTls);
    }

    [Theory]
    [InlineData("redis://:secret@host", null, "secret")]
    [InlineData("redis://user:@host", "user", "")]
    [InlineData("redis://user@host", "user", null)]
    [InlineData("REDIS://:a:b@host", null, "a:b")]
    public void Parses_credential_variants(string url, string? user, string? password)
    {
        var endpoint = RedisEndpoint.Parse(url);
        Assert.Equal(user, endpoint.User);
        Assert.Equal(password, endpoint.Password);
    }

    [Fact]
    public void Parses_ipv6_hosts_without_brackets()
    {
        var endpoint = RedisEndpoint.Parse("redis://[::1]:7000/1");
        Assert.Equal("::1", endpoint.Host);
        Assert.Equal(7000, endpoint.Port);
        Assert.Equal("redis://[::1]:7000/1", endpoint.ToString());
    }

    [Theory]
    [InlineData("http://host:6379")]
    [InlineData("host:6379")]
    [InlineData("redis://")]
    [InlineData("redis://host:99999")]
    [InlineData("redis://host:port")]
    [InlineData("redis://host/abc")]
    [InlineData("redis://host/-1")]
    [InlineData("redis://host/1/2")]
    [InlineData("redis://host?db=1")]
    public void Rejects_malformed_urls_with_format_exception(string url)
    {
        var error = Assert.Throws<FormatException>(() => RedisEndpoint.Parse(url));
        Assert.Contains("redis", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Error_messages_never_echo_the_password()
    {
        var error = Assert.Throws<FormatException>(() => RedisEndpoint.Parse("redis://u:hunter2@host:notaport"));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_masks_the_password()
    {
        var endpoint = RedisEndpoint.Parse("rediss://bob:hunter2@example.com:6390/2");
        Assert.Equal("rediss://bob:***@example.com:6390/2", endpoint.ToString());
        Assert.Equal("redis://:***@h:6379/0", RedisEndpoint.Parse("redis://:hunter2@h").ToString());
        Assert.Equal("redis://h:6379/0", new RedisEndpoint("h").ToString());
    }
}
