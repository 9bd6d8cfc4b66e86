using System.Net;
using Herald.Testing.Bridge;

namespace Herald.Bridge.Tests;

/// <summary>
/// The standalone bridge's defaults (issue 15, hole 9): it never starts open to other machines by accident, and
/// only local pages and non-browsers may open it. The mounted bridge's: Herald.Server.Tests, BridgeMountedSecurityTests.
/// </summary>
public sealed class BridgeStandaloneSecurityTests
{
    [Fact]
    public void Standalone_ListeningBeyondLoopbackWithoutToken_RefusesToStart()
    {
        var error = Assert.Throws<BridgeSettingsException>(() => BridgeHost.Build(BridgeSettingsLoader.Parse("""{"proxy":{"host":"0.0.0.0","port":0}}""").Proxy));

        Assert.Contains("proxy.allowAnonymous", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("http://localhost:5173", HttpStatusCode.SwitchingProtocols)]
    [InlineData(null, HttpStatusCode.SwitchingProtocols)]
    public async Task Standalone_ByDefault_OnlyLocalPagesAndNonBrowsers(string? origin, HttpStatusCode expected)
    {
        await using var bridge = await BridgeServer.StartAsync();

        var upgrade = await WebSocketUpgrade.StartAsync(bridge.Uri, origin is null ? [] : new() { ["Origin"] = origin });

        Assert.Equal(expected, upgrade.Status);
        await upgrade.CloseAsync();
    }
}
