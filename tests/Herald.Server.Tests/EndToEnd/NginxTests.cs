using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Herald.Cli.Doctor;
using Herald.Cli.Tests.Doctor;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Real nginx (Debian's) running the shipped deploy/nginx.conf in front of a real node: every transport works
/// through it, <c>herald doctor</c> passes, and each fault of seeds 000/001 provoked in a variant of the file
/// makes the doctor fail with that fault's diagnosis.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class NginxTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;
    private NginxFixture _nginx = null!;

    public async Task InitializeAsync()
    {
        _server = await HeraldTestNode.StartInProcessAsync();
        _nginx = await NginxFixture.StartDeployConfigAsync([_server.BaseAddress]);
    }

    public async Task DisposeAsync()
    {
        await _nginx.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task ThroughNginx_SseWebSocketAndLongPoll_AllReceiveTheSameEvents()
    {
        var guest = await _server.OpenGuestDialogAsync("nginx-guest");
        using var client = new HttpClient { BaseAddress = _nginx.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await using var sse = await SseTestClient.ConnectAsync(client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var ws = await WsTestClient.ConnectAsync(_nginx.BaseAddress, $"/ws/widget/dialogs/{guest.DialogId}?{guest.Query}");
        await ws.SendAsync("__ping__");
        Assert.Equal("__pong__", await ws.ReceiveAsync());
        var head = (await client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}")).GetProperty("last_event_id").GetInt64();
        // The poll waits in nginx for the first message: proves a long request passes before it is answered.
        var firstPoll = client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={head}&timeout=20");

        for (var i = 0; i < 5; i++)
        {
            using var posted = await client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { sender = "user", text = $"via nginx {i}" });
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        }

        var fromSse = (await sse.TakeAsync(5)).Select(e => long.Parse(e.EventId!)).ToList();
        var fromWs = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            fromWs.Add((await ws.ReceiveJsonAsync()).GetProperty("event_id").GetInt64());
        }

        var fromPoll = new List<long>();
        var page = await firstPoll.WaitAsync(TimeSpan.FromSeconds(10));
        while (true)
        {
            fromPoll.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
            if (fromPoll.Count >= 5)
            {
                break;
            }

            page = await client.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={page.GetProperty("last_event_id").GetInt64()}&timeout=5");
        }

        Assert.Equal(5, fromSse.Distinct().Count());
        Assert.Equal(fromSse, fromWs);
        Assert.Equal(fromSse, fromPoll);
        // Herald saw the client's address and scheme from nginx's X-Forwarded-* (loopback is a trusted proxy).
        Assert.Contains("\"GET /api/dialogs/", _nginx.AccessLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_ThroughNginx_PassesEveryCheck_ForASiteWidgetAndForAnOperator()
    {
        using var op = await _server.OperatorClientAsync();
        var assistant = await _server.CreateAssistantAsync();
        using var issued = await op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant, allowed_domains = new[] { "shop.example.com" } });
        var siteToken = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();

        var site = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _nginx.BaseAddress, SiteToken = siteToken, Origin = "https://shop.example.com" });
        Assert.True(site.Ok, site.ToText());
        DoctorRun.AssertStatuses(site, ("sse", CheckStatus.Pass), ("sse-prelude", CheckStatus.Pass), ("delivery", CheckStatus.Pass),
            ("websocket", CheckStatus.Pass), ("cors", CheckStatus.Pass), ("widget-token", CheckStatus.Pass));

        var operatorRun = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _nginx.BaseAddress, Token = await _server.LoginAsync() });
        Assert.True(operatorRun.Ok, operatorRun.ToText());

        // The token is bound to its domain: from another origin the doctor names the reason and the fix.
        var wrongSite = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _nginx.BaseAddress, SiteToken = siteToken, Origin = "https://evil.example" });
        var token = wrongSite.Find("widget-token")!;
        Assert.Equal(CheckStatus.Fail, token.Status);
        Assert.Contains("domain not allowed", token.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doctor_BufferingProxy_FailsWithTheBufferingDiagnosis()
    {
        // Seed 000's broken nginx: its defaults (proxy_buffering on, HTTP/1.0 to the upstream), with Herald's
        // X-Accel-Buffering: no ignored. (nginx 1.22 passes a chunked HTTP/1.1 upstream through even with buffering
        // on; with HTTP/1.0 it holds the whole response, headers included.)
        await using var buffering = await NginxFixture.StartDeployConfigAsync([_server.BaseAddress], BufferingNginx(honourXAccel: false));
        var assistant = await _server.CreateAssistantAsync();
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = buffering.BaseAddress, AssistantId = assistant });

        Assert.False(report.Ok);
        var prelude = report.Find("sse-prelude")!;
        Assert.Equal(CheckStatus.Fail, prelude.Status);
        Assert.StartsWith("a buffering proxy (nginx proxy_buffering on?) is holding the stream", prelude.Cause, StringComparison.Ordinal);
        Assert.Contains("proxy_buffering off", prelude.Fix, StringComparison.Ordinal);
        Assert.NotEqual(CheckStatus.Pass, report.Find("delivery")!.Status);
        // Everything else still works through this proxy: the diagnosis points at the one fault.
        DoctorRun.AssertStatuses(report, ("health", CheckStatus.Pass), ("dialog", CheckStatus.Pass), ("websocket", CheckStatus.Pass));
    }

    [Fact]
    public async Task Doctor_BufferingOnButXAccelBufferingHonoured_Passes()
    {
        // Herald's own defence: with nginx's default buffering, its X-Accel-Buffering: no header keeps the stream live.
        await using var defaults = await NginxFixture.StartDeployConfigAsync([_server.BaseAddress], BufferingNginx(honourXAccel: true));
        var assistant = await _server.CreateAssistantAsync();
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = defaults.BaseAddress, AssistantId = assistant });
        Assert.True(report.Ok, report.ToText());
    }

    [Fact]
    public async Task Doctor_ProxyWithoutUpgradeHeaders_FailsTheWebSocketCheckWithTheSeed001Diagnosis()
    {
        await using var noUpgrade = await NginxFixture.StartDeployConfigAsync([_server.BaseAddress], conf => string.Join('\n',
            conf.Split('\n').Where(line => !line.Contains("proxy_set_header Upgrade", StringComparison.Ordinal)
                && !line.Contains("$connection_upgrade;", StringComparison.Ordinal))));
        var assistant = await _server.CreateAssistantAsync();
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = noUpgrade.BaseAddress, AssistantId = assistant });

        var websocket = report.Find("websocket")!;
        Assert.Equal(CheckStatus.Fail, websocket.Status);
        Assert.StartsWith("proxy does not forward Upgrade/Connection headers — see seed 001 nginx location /ws/", websocket.Cause, StringComparison.Ordinal);
        Assert.Contains("proxy_set_header Upgrade $http_upgrade", websocket.Fix, StringComparison.Ordinal);
        DoctorRun.AssertStatuses(report, ("sse", CheckStatus.Pass), ("sse-prelude", CheckStatus.Pass), ("delivery", CheckStatus.Pass));
        Assert.False(report.Ok);
    }

    [Fact]
    public async Task Doctor_AgainstTheFrontendOrAWrongPath_FailsWithTheWrongUrlDiagnosis()
    {
        // Seed 000: the admin talked to the frontend (:3000) instead of Herald (:8000). A static site whose /app/
        // answers every path with its index.html (a single-page app), and 404 pages elsewhere.
        const string frontend = """
            server {
                listen 80;
                root {{DIR}}/www;
                location /app/ { try_files $uri /index.html; }
                location / { return 404; }
            }
            """;
        await using var web = await NginxFixture.StartAsync(frontend, new Dictionary<string, string> { ["www/index.html"] = "<!doctype html><title>Shop</title><div id=app></div>" });

        foreach (var path in new[] { "app/", "" })
        {
            var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = new Uri(web.BaseAddress, path), AssistantId = 1 });
            var health = report.Find("health")!;
            Assert.Equal(CheckStatus.Fail, health.Status);
            Assert.StartsWith("wrong URL: you are talking to the frontend, not Herald", health.Cause, StringComparison.Ordinal);
            Assert.StartsWith("wrong URL: you are talking to the frontend, not Herald", report.Find("dialog")!.Cause, StringComparison.Ordinal);
            Assert.Equal(CheckStatus.Fail, report.Find("websocket")!.Status);
        }

        // Herald itself behind the proxy, but with a path prefix it does not have: named as the base URL's extra path
        // (issue 19), not blamed on the proxy.
        var typo = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = new Uri(_nginx.BaseAddress, "herald/"), AssistantId = 1 });
        Assert.StartsWith("the base URL has an extra path '/herald/'", typo.Find("health")!.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain(typo.Checks, c => c.Cause?.Contains("proxy", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task ForwardedFor_ThroughNginx_PerIpLimitsSeeTheRealClient_NotASpoofedHeader()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Limits:MaxConnectionsPerIp"] = "1" });
        await using var nginx = await NginxFixture.StartDeployConfigAsync([server.BaseAddress]);
        var guest = await server.OpenGuestDialogAsync("xff");
        var path = $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";

        // Two clients on different loopback addresses: through nginx Herald must tell them apart.
        using var first = ClientFrom("127.0.0.2", nginx.BaseAddress);
        using var second = ClientFrom("127.0.0.3", nginx.BaseAddress);
        using var a = await OpenStreamAsync(first, path, null);
        using var b = await OpenStreamAsync(second, path, null);
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);

        // The first client again, claiming another address: nginx appends the real one and Herald takes that.
        using var spoofed = await OpenStreamAsync(first, path, "198.51.100.7");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, spoofed.StatusCode);
        Assert.Equal("too_many_connections", (await spoofed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    private static Func<string, string> BufferingNginx(bool honourXAccel) => conf => conf
        .Replace("proxy_http_version 1.1;", "proxy_http_version 1.0;", StringComparison.Ordinal)
        .Replace("proxy_buffering off;", honourXAccel ? "proxy_buffering on;" : "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;", StringComparison.Ordinal);

    private static async Task<HttpResponseMessage> OpenStreamAsync(HttpClient client, string path, string? forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>An HttpClient whose connections come from <paramref name="localAddress"/> (any 127.x.y.z is loopback on Linux).</summary>
    private static HttpClient ClientFrom(string localAddress, Uri baseAddress)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }
}
