using Herald.Bridge;
using Herald.Cli.Seed004;
using Herald.Server.Hosting;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Herald.Server.Tests.Bridge;

/// <summary>The bridge mounted in the gateway by <c>Herald:Bridge:Enabled</c> (Bridge/GatewayBridgeAccess.cs).</summary>
public sealed class MountedBridgeTests
{
    [Fact]
    public async Task MainServer_BridgeEnabledByConfiguration_ServesSeedProtocolAtConfiguredPath()
    {
        var seedServer = new TestServerSettings { Host = "127.0.0.1", Port = 0, ResponseCount = 2, ResponseDelay = 10 };
        await using var server = TestSseServer.Build(seedServer, TextWriter.Null, builder => builder.Logging.ClearProviders());
        await server.StartAsync().WaitAsync(Within.Timeout);
        seedServer.Port = new Uri(server.Urls.Single()).Port;
        using var data = new TempDirectory("herald-bridge-");
        await using var app = HeraldApp.Build(
        [
            "--urls", "http://127.0.0.1:0", "--environment", "Development",
            $"--Herald:Storage:DataDirectory={data.Path}", "--Herald:Bridge:Enabled=true", "--Herald:Bridge:Path=/ws/bridge",
            "--Herald:Bridge:Token=t0ken", "--Herald:Bridge:Allow:Networks:0=loopback",
        ], builder => builder.Logging.ClearProviders());
        await app.StartAsync().WaitAsync(Within.Timeout);
        var authority = new Uri(app.Urls.Single()).Authority;
        await using var client = await BridgeClient.ConnectAsync(new Uri($"ws://{authority}/ws/bridge?token=t0ken"));

        await client.SendTextAsync(TestBridgeClient.BuildRequest(seedServer, "via main server"));

        Assert.Equal(["connected", "sse-event", "data", "sse-event", "data", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
        await client.DisposeAsync();
        await app.StopAsync().WaitAsync(Within.Timeout);
        await server.StopAsync().WaitAsync(Within.Timeout);
    }

    [Fact]
    public async Task MainServer_BridgeNotEnabled_NoEndpoint()
    {
        using var data = new TempDirectory("herald-bridge-");
        await using var app = HeraldApp.Build(
            ["--urls", "http://127.0.0.1:0", "--environment", "Development", $"--Herald:Storage:DataDirectory={data.Path}"],
            builder => builder.Logging.ClearProviders());
        await app.StartAsync().WaitAsync(Within.Timeout);
        using var http = new HttpClient();

        var response = await http.GetAsync(new Uri(new Uri(app.Urls.Single()), "/proxy")).WaitAsync(Within.Timeout);

        Assert.Equal(404, (int)response.StatusCode);
        await app.StopAsync().WaitAsync(Within.Timeout);
    }
}
