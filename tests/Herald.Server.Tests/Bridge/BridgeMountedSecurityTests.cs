using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Net.WebSockets;
using Herald.Bridge;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Server.Tests.Bridge;

/// <summary>
/// The bridge mounted in the public server (issue 15, hole 9): who may open it, what it may reach by default, how
/// much one address may hold, and that it never starts open to everyone by accident. Real Herald nodes, real sockets.
/// </summary>
public sealed class BridgeMountedSecurityTests
{
    private const string BridgeToken = "bridge-secret-0123456789";

    [Fact]
    public async Task Mounted_AnonymousSocket_RefusedWith401_OperatorOrBridgeTokenAdmitted()
    {
        await using var herald = await StartAsync(new() { ["Herald:Bridge:Token"] = BridgeToken });
        var operatorToken = await herald.LoginAsync();

        var anonymous = await UpgradeAsync(herald, "");
        var wrong = await UpgradeAsync(herald, "?token=not-the-token");
        var asOperator = await UpgradeAsync(herald, "?token=" + Uri.EscapeDataString(operatorToken));
        var withBridgeToken = await UpgradeAsync(herald, "", headers: new() { ["Authorization"] = "Bearer " + BridgeToken });

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, asOperator.Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, withBridgeToken.Status);
        await asOperator.CloseAsync();
        await withBridgeToken.CloseAsync();
    }

    [Fact]
    public async Task Mounted_ByDefaultOnlyOperators_AnonymousRefused()
    {
        await using var herald = await StartAsync([]);
        var operatorToken = await herald.LoginAsync();

        var anonymous = await UpgradeAsync(herald, "");
        var asOperator = await UpgradeAsync(herald, "?token=" + Uri.EscapeDataString(operatorToken));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, asOperator.Status);
        await asOperator.CloseAsync();
    }

    [Fact]
    public async Task Mounted_OperatorSocket_ClosedWith4010WhenItsTokenExpires()
    {
        await using var herald = await StartAsync(new() { ["Herald:Auth:TokenLifetime"] = "00:00:03" });
        var operatorToken = await herald.LoginAsync();
        var client = await BridgeClient.ConnectAsync(new Uri(BridgeUri(herald) + "?token=" + Uri.EscapeDataString(operatorToken)));
        await using var _ = client;

        var status = await client.ReceiveCloseAsync();

        Assert.Equal((WebSocketCloseStatus)Protocol.Disconnect.AuthExpired.Code, status);
    }

    [Theory]
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("null", HttpStatusCode.Forbidden)]
    [InlineData("https://app.example", HttpStatusCode.SwitchingProtocols)]
    [InlineData(null, HttpStatusCode.SwitchingProtocols)]
    public async Task Mounted_BrowserOrigin_OnlySameOriginOrListed(string? origin, HttpStatusCode expected)
    {
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Bridge:AllowedOrigins:0"] = "app.example",
        });
        var headers = new Dictionary<string, string> { ["Authorization"] = "Bearer " + BridgeToken };
        if (origin is not null)
        {
            headers["Origin"] = origin;
        }

        var upgrade = await UpgradeAsync(herald, "", headers);
        var sameOrigin = await UpgradeAsync(herald, "", new(headers) { ["Origin"] = herald.BaseAddress.GetLeftPart(UriPartial.Authority) });

        Assert.Equal(expected, upgrade.Status);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, sameOrigin.Status);
        await upgrade.CloseAsync();
        await sameOrigin.CloseAsync();
    }

    [Fact]
    public async Task Mounted_DefaultAllowList_RefusesLoopback_HeraldsOwnMetricsNeverFetched()
    {
        var hits = 0;
        await using var loopbackAdmin = await UpstreamServer.StartAsync(async context =>
        {
            Interlocked.Increment(ref hits);
            await context.Response.WriteAsync("admin page");
        });
        await using var herald = await StartAsync(new() { ["Herald:Bridge:Token"] = BridgeToken });
        await using var client = await ConnectAsync(herald);

        await client.SendAsync(MetricsRequest(herald, id: "metrics"));
        var metrics = await client.ReceiveAsync();
        await client.SendAsync(loopbackAdmin.Request("/admin", id: "admin"));
        var admin = await client.ReceiveAsync();

        Assert.Equal(("error", "error"), (metrics.Type(), admin.Type()));
        Assert.StartsWith("Target refused: 127.0.0.1 is a loopback address", metrics.Message(), StringComparison.Ordinal);
        Assert.StartsWith("Target refused: 127.0.0.1 is a loopback address", admin.Message(), StringComparison.Ordinal);
        Assert.False(metrics.Payload().TryGetProperty("body", out _));
        Assert.Equal(0, Volatile.Read(ref hits));
    }

    [Fact]
    public async Task Mounted_ServersOwnInterfaceAddress_RefusedEvenWhenItsKindIsAllowed()
    {
        var own = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal && a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6);
        Assert.True(own is not null, "This test needs a non-loopback interface address on the machine (none is up).");
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Bridge:Allow:Networks:0"] = "public",
            ["Herald:Bridge:Allow:Networks:1"] = "private",
        });
        await using var client = await ConnectAsync(herald);

        await client.SendAsync(new Dictionary<string, object?>
        {
            ["protocol"] = "http", ["address"] = own.ToString(), ["port"] = herald.BaseAddress.Port, ["path"] = "/metrics", ["id"] = 1,
        });
        var reply = await client.ReceiveAsync();

        Assert.Equal("error", reply.Type());
        Assert.Contains("an address of this server", reply.Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mounted_LoopbackListedExplicitly_IsReachable()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: hi\n\n");
        });
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Bridge:Allow:Networks:0"] = "loopback",
        });
        await using var client = await ConnectAsync(herald);

        await client.SendAsync(upstream.Request("/"));

        Assert.Equal(["connected", "sse-event", "data", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
    }

    [Fact]
    public async Task Mounted_OneAddress_CannotTakeEveryStream_AnotherAddressStillServed()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            await UpstreamServer.StartEventStreamAsync(context);
            await release.Task.WaitAsync(Within.Timeout, context.RequestAborted);
        });
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Bridge:Allow:Networks:0"] = "loopback",
            ["Herald:Bridge:Limits:MaxStreams"] = "6",
            ["Herald:Bridge:Limits:MaxStreamsPerSocket"] = "2",
            ["Herald:Bridge:Limits:MaxStreamsPerAddress"] = "3",
        });
        await using var first = await ConnectAsync(herald);
        await using var second = await ConnectAsync(herald);
        await using var other = await ConnectAsync(herald, from: IPAddress.Parse("127.0.0.2"));

        await first.SendAsync(upstream.Request("/", id: 1));
        await first.SendAsync(upstream.Request("/", id: 2));
        Assert.Equal(("connected", "connected"), ((await first.ReceiveAsync()).Type(), (await first.ReceiveAsync()).Type()));
        await second.SendAsync(upstream.Request("/", id: 3));
        Assert.Equal("connected", (await second.ReceiveAsync()).Type());
        await second.SendAsync(upstream.Request("/", id: 4));
        var refused = await second.ReceiveAsync();
        await other.SendAsync(upstream.Request("/", id: 5));
        var otherReply = await other.ReceiveAsync();

        Assert.Equal(("error", "4"), (refused.Type(), refused.Id()));
        Assert.Contains("maxStreamsPerAddress", refused.Message(), StringComparison.Ordinal);
        Assert.Equal("connected", otherReply.Type());
        release.SetResult();
    }

    [Fact]
    public async Task Mounted_IdleSocketsFromOneAddress_CountAgainstMaxConnectionsPerIp()
    {
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Limits:MaxConnectionsPerIp"] = "3",
        });
        List<BridgeClient> held = [];
        for (var i = 0; i < 3; i++)
        {
            held.Add(await ConnectAsync(herald));
        }

        var fourth = await UpgradeAsync(herald, "?token=" + BridgeToken);
        var fromOther = await UpgradeAsync(herald, "?token=" + BridgeToken, from: IPAddress.Parse("127.0.0.2"));
        await held[0].DisposeAsync();
        WebSocketUpgrade? afterOneLeft = null;
        await Poll.UntilAsync(async () =>
        {
            // The slot is freed when the bridge has seen the close, a moment after the client's close completes.
            afterOneLeft = await UpgradeAsync(herald, "?token=" + BridgeToken);
            return afterOneLeft.Status == HttpStatusCode.SwitchingProtocols;
        });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, fourth.Status);
        Assert.NotNull(fourth.RetryAfter);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, fromOther.Status);
        await fromOther.CloseAsync();
        await afterOneLeft!.CloseAsync();
        foreach (var client in held.Skip(1))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Mounted_BridgeOwnConnectionLimitPerAddress_RefusesTheExtraSocket()
    {
        await using var herald = await StartAsync(new()
        {
            ["Herald:Bridge:Token"] = BridgeToken,
            ["Herald:Bridge:Limits:MaxConnectionsPerAddress"] = "2",
        });
        await using var a = await ConnectAsync(herald);
        await using var b = await ConnectAsync(herald);

        var third = await UpgradeAsync(herald, "?token=" + BridgeToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.Status);
    }

    [Fact]
    public async Task Mounted_NoAuthenticationConfigured_RefusesToStart_NamingAllowAnonymous()
    {
        var error = await Assert.ThrowsAsync<BridgeSettingsException>(() => StartAsync(new() { ["Herald:Bridge:AllowOperators"] = "false" }));

        Assert.Contains("Herald:Bridge:AllowAnonymous", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task Mounted_AllowAnonymousExplicitly_StartsOpen()
    {
        await using var herald = await StartAsync(new() { ["Herald:Bridge:AllowOperators"] = "false", ["Herald:Bridge:AllowAnonymous"] = "true" });

        var anonymous = await UpgradeAsync(herald, "");

        Assert.Equal(HttpStatusCode.SwitchingProtocols, anonymous.Status);
        await anonymous.CloseAsync();
    }

    private static Task<HeraldTestNode> StartAsync(Dictionary<string, string> settings)
    {
        settings["Herald:Bridge:Enabled"] = "true";
        return HeraldTestNode.StartInProcessAsync(settings);
    }

    private static Uri BridgeUri(HeraldTestNode herald) => new($"ws://{herald.BaseAddress.Authority}/proxy");

    private static Task<BridgeClient> ConnectAsync(HeraldTestNode herald, IPAddress? from = null) =>
        BridgeClient.ConnectAsync(BridgeUri(herald), o => o.SetRequestHeader("Authorization", "Bearer " + BridgeToken), WebSocketUpgrade.From(from));

    private static Dictionary<string, object?> MetricsRequest(HeraldTestNode herald, string id) => new()
    {
        ["protocol"] = "http", ["address"] = "127.0.0.1", ["port"] = herald.BaseAddress.Port, ["path"] = "/metrics", ["id"] = id,
    };

    private static Task<WebSocketUpgrade> UpgradeAsync(HeraldTestNode herald, string query, Dictionary<string, string>? headers = null, IPAddress? from = null) =>
        WebSocketUpgrade.StartAsync(new Uri(BridgeUri(herald) + query), headers ?? [], from);
}
