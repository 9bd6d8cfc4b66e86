using System.Net.WebSockets;
using Herald.Bridge;
using Herald.Cli.Seed004;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Herald.Bridge.Tests;

/// <summary>settings.json, the <c>Herald:Bridge</c> section, and shutdown (the bridge mounted in the gateway: Herald.Server.Tests, MountedBridgeTests).</summary>
public sealed class BridgeHostingTests
{
    /// <summary>The file exactly as seed 004 ships it.</summary>
    private const string SeedSettings = """
        {
          "proxy": {
            "port": 3001,
            "host": "localhost",
            "sseTimeout": 0
          },
          "testServer": {
            "port": 8081,
            "host": "localhost",
            "responseCount": 3,
            "responseDelay": 1000
          },
          "testClient": {
            "message": "Hello Server!",
            "maxMessages": 3,
            "sendDelay": 1000
          }
        }
        """;

    [Fact]
    public void Parse_SeedFile_AllValuesAndDefaultsForExtensions()
    {
        var settings = BridgeSettingsLoader.Parse(SeedSettings);

        Assert.Equal((3001, "localhost", 0), (settings.Proxy.Port, settings.Proxy.Host, settings.Proxy.SseTimeout));
        Assert.Equal((8081, "localhost", 3, 1000), (settings.TestServer.Port, settings.TestServer.Host, settings.TestServer.ResponseCount, settings.TestServer.ResponseDelay));
        Assert.Equal(("Hello Server!", 3, 1000), (settings.TestClient.Message, settings.TestClient.MaxMessages, settings.TestClient.SendDelay));
        Assert.Equal("/proxy", settings.Proxy.Path);
        Assert.Null(settings.Proxy.Token);
        Assert.True(settings.Proxy.LegacyData);
        Assert.False(settings.Proxy.Resume.Enabled);
        Assert.Null(settings.Proxy.Allow.Networks!);
        _ = BridgePolicy.Compile(settings.Proxy);
    }

    [Fact]
    public void Parse_DefaultsEqualTheSeedsWhenTheFileIsEmpty()
    {
        var settings = BridgeSettingsLoader.Parse("{}");

        Assert.Equal(BridgeSettingsLoader.Parse(SeedSettings).Proxy.Port, settings.Proxy.Port);
        Assert.Equal(3, settings.TestClient.MaxMessages);
        Assert.Equal(1000, settings.TestServer.ResponseDelay);
    }

    [Fact]
    public void Parse_CommentsTrailingCommasUnknownKeysAndExtensions()
    {
        var settings = BridgeSettingsLoader.Parse("""
            {
              // hand-edited
              "proxy": {
                "port": 3002,
                "token": "t",
                "allow": { "networks": ["loopback", "10.1.0.0/16"], "ports": [8081] },
                "limits": { "maxStreamsPerSocket": 4 },
                "resume": { "enabled": true, "maxAttempts": 3 },
                "somethingNew": 1,
              },
            }
            """);

        Assert.Equal(3002, settings.Proxy.Port);
        Assert.Equal(["loopback", "10.1.0.0/16"], settings.Proxy.Allow.Networks!);
        Assert.Equal([8081], settings.Proxy.Allow.Ports!);
        Assert.Equal(4, settings.Proxy.Limits.MaxStreamsPerSocket);
        Assert.True(settings.Proxy.Resume.Enabled);
        Assert.True(BridgePolicy.Compile(settings.Proxy).RequiresToken);
    }

    [Theory]
    [InlineData("""{"proxy":{"sseTimeout":-1}}""", "proxy.sseTimeout")]
    [InlineData("""{"proxy":{"allow":{"schemes":["ftp"]}}}""", "proxy.allow.schemes")]
    [InlineData("""{"proxy":{"allow":{"ports":[0]}}}""", "proxy.allow.ports")]
    [InlineData("""{"proxy":{"limits":{"maxStreams":0}}}""", "proxy.limits.maxStreams")]
    [InlineData("""{"proxy":{"path":"proxy"}}""", "proxy.path")]
    [InlineData("""{"testServer":{"responseCount":0}}""", "testServer.responseCount")]
    [InlineData("""{"testClient":{"maxMessages":0}}""", "testClient.maxMessages")]
    [InlineData("""{"proxy":{"port":"x"}}""", "settings")]
    public void Load_InvalidValue_ThrowsNamingTheKey(string json, string key)
    {
        using var directory = new TempDirectory("herald-bridge-");
        var path = Path.Combine(directory.Path, "settings.json");
        File.WriteAllText(path, json);

        var error = Assert.Throws<BridgeSettingsException>(() => BridgeSettingsLoader.Load(path));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingExplicitFile_Throws() =>
        Assert.Throws<BridgeSettingsException>(() => BridgeSettingsLoader.Load("/nonexistent/herald/settings.json"));

    [Fact]
    public void ConfigurationBinding_ListReplacesTheDefault_NeverAppends()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Herald:Bridge:Allow:Networks:0"] = "10.0.0.0/8",
            ["Herald:Bridge:Limits:MaxStreams"] = "7",
        }).Build();

        var settings = configuration.GetSection(BridgeEndpoints.ConfigurationSection).Get<ProxySettings>()!;

        Assert.Equal(["10.0.0.0/8"], settings.Allow.Networks!);
        Assert.Equal(7, settings.Limits.MaxStreams);
        var policy = BridgePolicy.Compile(settings);
        Assert.NotNull(policy.CheckAddress(System.Net.IPAddress.Loopback, "127.0.0.1"));
    }

    [Fact]
    public async Task Shutdown_OpenSocketWithActiveStream_ClosedWith1012()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();
        await client.SendAsync(upstream.Request("/", id: 1));
        Assert.Equal("connected", (await client.ReceiveAsync()).Type());

        var stopping = bridge.DisposeAsync().AsTask();
        var status = await client.ReceiveCloseAsync();
        await client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).WaitAsync(Within.Timeout);
        await stopping.WaitAsync(Within.Timeout);

        Assert.Equal((WebSocketCloseStatus)Protocol.Disconnect.ShuttingDown.Code, status);
    }
}
