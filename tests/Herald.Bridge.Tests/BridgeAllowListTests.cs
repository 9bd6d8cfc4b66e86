using System.Net;
using Herald.Bridge;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Bridge.Tests;

/// <summary>The upstream allow-list: address kinds, the policy, and refusals through the bridge (no SSRF).</summary>
public sealed class BridgeAllowListTests
{
    [Theory]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("127.255.0.9", AddressKind.Loopback)]
    [InlineData("10.1.2.3", AddressKind.Private)]
    [InlineData("172.16.0.1", AddressKind.Private)]
    [InlineData("172.31.255.255", AddressKind.Private)]
    [InlineData("172.32.0.1", AddressKind.Public)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("100.64.0.1", AddressKind.Private)]
    [InlineData("169.254.1.1", AddressKind.LinkLocal)]
    [InlineData("169.254.169.254", AddressKind.Metadata)]
    [InlineData("168.63.129.16", AddressKind.Metadata)]
    [InlineData("0.0.0.0", AddressKind.Unspecified)]
    [InlineData("0.1.2.3", AddressKind.Unspecified)]
    [InlineData("224.0.0.1", AddressKind.Multicast)]
    [InlineData("255.255.255.255", AddressKind.Broadcast)]
    [InlineData("240.0.0.1", AddressKind.Reserved)]
    [InlineData("192.0.2.1", AddressKind.Reserved)]
    [InlineData("8.8.8.8", AddressKind.Public)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::", AddressKind.Unspecified)]
    [InlineData("fe80::1", AddressKind.LinkLocal)]
    [InlineData("fe80::1%2", AddressKind.LinkLocal)]
    [InlineData("fc00::1", AddressKind.Private)]
    [InlineData("fd12:3456::1", AddressKind.Private)]
    [InlineData("ff02::1", AddressKind.Multicast)]
    [InlineData("fd00:ec2::254", AddressKind.Metadata)]
    [InlineData("::ffff:10.0.0.1", AddressKind.Private)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)]
    [InlineData("::ffff:169.254.169.254", AddressKind.Metadata)]
    [InlineData("64:ff9b::a9fe:a9fe", AddressKind.Metadata)]
    [InlineData("64:ff9b::808:808", AddressKind.Public)]
    [InlineData("2002:a00:1::1", AddressKind.Private)]
    [InlineData("::10.0.0.1", AddressKind.Reserved)]
    [InlineData("2001:db8::1", AddressKind.Reserved)]
    [InlineData("2606:4700:4700::1111", AddressKind.Public)]
    public void Classify_Address_Kind(string address, AddressKind expected) =>
        Assert.Equal(expected, AddressClassifier.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData(null, "127.0.0.1", true)]
    [InlineData(null, "::1", true)]
    [InlineData(null, "::ffff:127.0.0.1", true)]
    [InlineData(null, "10.0.0.1", false)]
    [InlineData(null, "8.8.8.8", false)]
    [InlineData(null, "0.0.0.0", false)]
    [InlineData(null, "169.254.169.254", false)]
    [InlineData("public", "8.8.8.8", true)]
    [InlineData("public", "10.0.0.1", false)]
    [InlineData("public", "169.254.169.254", false)]
    [InlineData("public", "127.0.0.1", false)]
    [InlineData("private", "192.168.0.10", true)]
    [InlineData("private", "169.254.1.1", false)]
    [InlineData("10.0.0.0/8", "10.9.9.9", true)]
    [InlineData("10.0.0.0/8", "::ffff:10.9.9.9", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("169.254.0.0/16", "169.254.1.1", true)]
    [InlineData("169.254.0.0/16", "169.254.169.254", false)]
    [InlineData("169.254.169.254", "169.254.169.254", true)]
    [InlineData("0.0.0.0/8", "0.0.0.0", true)]
    [InlineData("fd00::/8", "fd00::5", true)]
    public void CheckAddress_NetworksSetting_AllowsOnlyWhatIsListed(string? networks, string address, bool allowed)
    {
        var policy = BridgePolicy.Compile(new ProxySettings { Allow = { Networks = networks?.Split(',') } });

        var refusal = policy.CheckAddress(IPAddress.Parse(address), address);

        Assert.True(allowed == (refusal is null), refusal ?? "allowed");
    }

    [Theory]
    [InlineData("http://127.0.0.1/", null, null, null, true)]
    [InlineData("https://127.0.0.1/", null, null, null, true)]
    [InlineData("ftp://127.0.0.1/", null, null, null, false)]
    [InlineData("http://127.0.0.1/", "https", null, null, false)]
    [InlineData("http://127.0.0.1:8081/", null, null, "8081,8082", true)]
    [InlineData("http://127.0.0.1:22/", null, null, "8081,8082", false)]
    [InlineData("http://127.0.0.1/", null, null, "8081", false)]
    [InlineData("http://sse.example.com/", null, "*.example.com", null, true)]
    [InlineData("http://example.com/", null, "*.example.com", null, false)]
    [InlineData("http://evil-example.com/", null, "*.example.com", null, false)]
    [InlineData("http://SSE.Example.COM./", null, "sse.example.com", null, true)]
    [InlineData("http://[::1]/", null, "::1", null, true)]
    [InlineData("http://other.test/", null, "sse.test", null, false)]
    public void CheckTarget_SchemeHostPort(string uri, string? schemes, string? hosts, string? ports, bool allowed)
    {
        var policy = BridgePolicy.Compile(new ProxySettings
        {
            Allow = { Schemes = schemes?.Split(','), Hosts = hosts?.Split(','), Ports = ports?.Split(',').Select(int.Parse).ToArray() },
        });

        var refusal = policy.CheckTarget(new Uri(uri));

        Assert.True(allowed == (refusal is null), refusal ?? "allowed");
    }

    [Theory]
    [InlineData("10.0.0.1/33")]
    [InlineData("10.0.0.1/8")]
    [InlineData("everything")]
    public void Compile_BadNetwork_Throws(string network) =>
        Assert.Throws<BridgeSettingsException>(() => BridgePolicy.Compile(new ProxySettings { Allow = { Networks = [network] } }));

    [Theory]
    [InlineData("10.0.0.1", "a private address")]
    [InlineData("172.20.1.1", "a private address")]
    [InlineData("192.168.0.1", "a private address")]
    [InlineData("169.254.169.254", "a cloud metadata address")]
    [InlineData("169.254.10.10", "a link-local address")]
    [InlineData("0.0.0.0", "an unspecified address")]
    [InlineData("224.0.0.251", "a multicast address")]
    [InlineData("[fd00::1]", "a private address")]
    [InlineData("[::ffff:10.0.0.1]", "a private address")]
    [InlineData("8.8.8.8", "a public address")]
    public async Task Request_RefusedAddress_RepliesErrorWithoutConnecting(string address, string kind)
    {
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address, port = 80, path = "/latest/meta-data/" });
        var error = await client.ReceiveAsync();

        Assert.Equal("error", error.Type());
        Assert.Contains($"Target refused: {address.Trim('[', ']')} is {kind}", error.Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_UnspecifiedAddressWithLivePort_IsRefused_ThoughLinuxWouldReachLoopback()
    {
        var reached = false;
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            reached = true;
            await UpstreamServer.StartEventStreamAsync(context);
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "0.0.0.0", port = upstream.Port, path = "/" });

        Assert.Contains("an unspecified address", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
        Assert.False(reached);
    }

    [Theory]
    [InlineData("ftp", null, "scheme 'ftp' is not allowed")]
    [InlineData("https", "http", "scheme 'https' is not allowed")]
    public async Task Request_DisallowedScheme_IsRefused(string protocol, string? allowed, string expected)
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.Allow.Schemes = allowed is null ? null : [allowed]);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol, address = "127.0.0.1", port = 8081, path = "/" });

        Assert.Contains(expected, (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_DisallowedPort_IsRefused()
    {
        var reached = false;
        await using var upstream = await UpstreamServer.StartAsync(context =>
        {
            reached = true;
            return Task.CompletedTask;
        });
        await using var bridge = await BridgeServer.StartAsync(s => s.Allow.Ports = [upstream.Port == 8081 ? 8082 : 8081]);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));

        Assert.Contains($"port {upstream.Port} is not allowed", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
        Assert.False(reached);
    }

    [Fact]
    public async Task Request_HostNotInHostsList_IsRefused()
    {
        await using var bridge = await BridgeServer.StartAsync(s => s.Allow.Hosts = ["sse.test"]);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "localhost", port = 8081, path = "/" });

        Assert.Contains("host 'localhost' is not allowed", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_HostnameResolvingToPrivateAddress_IsRefused()
    {
        var resolver = new FakeResolver { ["internal.test"] = [IPAddress.Parse("10.0.0.7")] };
        await using var bridge = await BridgeServer.StartAsync(resolver: resolver.ResolveAsync);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "internal.test", port = 80, path = "/" });

        Assert.Contains("Target refused: 10.0.0.7 (resolved from 'internal.test') is a private address", (await client.ReceiveAsync()).Message(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_HostnameResolvingToPrivateAndLoopback_ConnectsToTheCheckedLoopbackAddressOnly()
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            seen.TrySetResult($"{context.Request.Headers.Host} from {context.Connection.LocalIpAddress}");
            await UpstreamServer.StartEventStreamAsync(context);
        });
        var resolver = new FakeResolver { ["mixed.test"] = [IPAddress.Parse("10.0.0.7"), IPAddress.Loopback] };
        await using var bridge = await BridgeServer.StartAsync(resolver: resolver.ResolveAsync);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "mixed.test", port = upstream.Port, path = "/" });

        Assert.Equal(["connected", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
        Assert.Equal($"mixed.test:{upstream.Port} from 127.0.0.1", await seen.Task.WaitAsync(Within.Timeout));
        Assert.Equal(1, resolver.Calls("mixed.test"));
    }

    [Fact]
    public async Task Request_RebindingName_IsResolvedOnceAndConnectedToWhatWasChecked()
    {
        // First answer loopback (passes), every later answer private: a check-then-resolve-again design would
        // connect to 10.0.0.9. The bridge resolves once per connection and connects to the checked address.
        await using var upstream = await UpstreamServer.StartAsync(UpstreamServer.StartEventStreamAsync);
        var resolver = new FakeResolver { ["rebind.test"] = [IPAddress.Loopback] };
        resolver.Then("rebind.test", [IPAddress.Parse("10.0.0.9")]);
        await using var bridge = await BridgeServer.StartAsync(resolver: resolver.ResolveAsync);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(new { protocol = "http", address = "rebind.test", port = upstream.Port, path = "/" });

        Assert.Equal(["connected", "closed"], (await client.ReceiveUntilEndAsync()).Select(r => r.Type()));
        Assert.Equal(1, resolver.Calls("rebind.test"));
    }

    [Theory]
    [InlineData("http://10.0.0.1/", "10.0.0.1 is a private address")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address")]
    [InlineData("http://[::ffff:192.168.1.1]:8080/", "192.168.1.1 is a private address")]
    [InlineData("file:///etc/passwd", "redirected to a 'file' URL")]
    [InlineData("http://internal.test/", "(resolved from 'internal.test') is a private address")]
    public async Task Redirect_ToRefusedTarget_IsRefused(string location, string expected)
    {
        await using var upstream = await UpstreamServer.StartAsync(context =>
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = location;
            return Task.CompletedTask;
        });
        var resolver = new FakeResolver { ["internal.test"] = [IPAddress.Parse("172.17.0.2")] };
        await using var bridge = await BridgeServer.StartAsync(resolver: resolver.ResolveAsync);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/start"));
        var error = await client.ReceiveAsync();

        Assert.Equal("error", error.Type());
        Assert.Contains(expected, error.Message(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5, true)]
    [InlineData(6, false)]
    public async Task Redirects_FollowedUpToFive(int hops, bool succeeds)
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            var n = int.Parse(context.Request.Path.Value!.TrimStart('/'), System.Globalization.CultureInfo.InvariantCulture);
            if (n > 0)
            {
                context.Response.StatusCode = n % 2 == 0 ? 307 : 301;
                context.Response.Headers.Location = $"/{n - 1}";
                return;
            }

            await UpstreamServer.StartEventStreamAsync(context);
            await UpstreamServer.WriteAsync(context, "data: arrived\n\n");
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request($"/{hops}"));
        var replies = await client.ReceiveUntilEndAsync();

        if (succeeds)
        {
            Assert.Equal(["connected", "sse-event", "data", "closed"], replies.Select(r => r.Type()));
        }
        else
        {
            Assert.Contains("Too many redirects", Assert.Single(replies).Message(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Redirect_ToAnotherOrigin_DropsAuthorization_And303TurnsPostIntoGet()
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var target = await UpstreamServer.StartAsync(async context =>
        {
            seen.SetResult($"{context.Request.Method} auth='{context.Request.Headers.Authorization}' length={context.Request.ContentLength}");
            await UpstreamServer.StartEventStreamAsync(context);
        });
        await using var origin = await UpstreamServer.StartAsync(context =>
        {
            context.Response.StatusCode = 303;
            context.Response.Headers.Location = $"http://127.0.0.1:{target.Port}/elsewhere";
            return Task.CompletedTask;
        });
        await using var bridge = await BridgeServer.StartAsync();
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(origin.Request("/", method: "POST", body: "payload",
            headers: new Dictionary<string, string> { ["Authorization"] = "Bearer for-origin-only" }));
        await client.ReceiveUntilEndAsync();

        Assert.Equal("GET auth='' length=", await seen.Task.WaitAsync(Within.Timeout));
    }

    /// <summary>Maps names to addresses without DNS; counts lookups; can change its answer after the first.</summary>
    private sealed class FakeResolver : Dictionary<string, IPAddress[]>
    {
        private readonly Dictionary<string, IPAddress[]> _later = [];
        private readonly Dictionary<string, int> _calls = [];

        public void Then(string host, IPAddress[] addresses) => _later[host] = addresses;

        public int Calls(string host)
        {
            lock (_calls)
            {
                return _calls.GetValueOrDefault(host);
            }
        }

        public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            int calls;
            lock (_calls)
            {
                calls = _calls[host] = _calls.GetValueOrDefault(host) + 1;
            }

            if (calls > 1 && _later.TryGetValue(host, out var later))
            {
                return Task.FromResult(later);
            }

            return TryGetValue(host, out var addresses)
                ? Task.FromResult(addresses)
                : Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound));
        }
    }
}
