using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Auth;

/// <summary>
/// Who reaches what (issue 15): service keys and the chat topics, strict Origin parsing, guests from non-web
/// origins, CORS by endpoint, the stats' topic names, operator apps on other origins.
/// </summary>
public sealed class AccessTests : IAsyncLifetime
{
    private const string ApiKey = "service-key-for-the-access-tests";

    private HeraldTestNode _server = null!;
    private HttpClient _op = null!;

    public async Task InitializeAsync()
    {
        _server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
            ["Herald:Cors:OperatorOrigins:0"] = "http://localhost:3000",
        });
        _op = await _server.OperatorClientAsync();
    }

    public async Task DisposeAsync()
    {
        _op.Dispose();
        await _server.DisposeAsync();
    }

    private static HttpClient ServiceClient(HeraldTestNode server)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return client;
    }

    private async Task<long> AssistantWithDomainsAsync(params string[] domains)
    {
        var assistant = await _server.CreateAssistantAsync();
        using var edit = await _op.PutAsJsonAsync($"/api/assistants/{assistant}/domains", new { allowed_domains = domains });
        edit.EnsureSuccessStatusCode();
        return assistant;
    }

    private async Task<string> SiteTokenAsync(long assistant)
    {
        using var response = await _op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string detailPart)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode} {body}");
        var json = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetString()));
        Assert.Contains(detailPart, json.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceKey_ChatTopics_AreRefusedOnEveryTransport_GenericTopicsStillWork()
    {
        var guest = await _server.OpenGuestDialogAsync("service-probe");
        using var service = ServiceClient(_server);
        foreach (var url in new[]
        {
            $"/api/poll?topic=dialog:{guest.DialogId}", "/api/poll?topic=dialogs", "/api/poll?topic=news,dialogs",
            $"/api/events?topic=dialog:{guest.DialogId}", "/api/events?topic=news&topic=dialogs",
        })
        {
            using var read = await service.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            await AssertError(read, HttpStatusCode.Forbidden, "reserved");
        }

        foreach (var topic in new[] { $"dialog:{guest.DialogId}", "dialogs", "dialog:999999" })
        {
            using var forged = await service.PostAsJsonAsync("/api/publish", new { topic, @event = "message", data = new { type = "message:new" } });
            await AssertError(forged, HttpStatusCode.Forbidden, "reserved");
            // Not even an operator forges chat events: only the chat API, which stores the message, emits them.
            using var byOperator = await _op.PostAsJsonAsync("/api/publish", new { topic, data = 1, durable = false });
            await AssertError(byOperator, HttpStatusCode.Forbidden, "reserved");
        }

        var dialogEvents = await _op.GetFromJsonAsync<JsonElement>($"/api/poll?topic=dialog:{guest.DialogId}&after_id=0&timeout=0");
        Assert.Equal(0, dialogEvents.GetProperty("events").GetArrayLength());

        using var published = await service.PostAsJsonAsync("/api/publish", new { topic = "news", data = new { n = 1 } });
        Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        var news = await service.GetFromJsonAsync<JsonElement>("/api/poll?topic=news&after_id=0&timeout=0");
        Assert.Equal(1, news.GetProperty("events").GetArrayLength());
    }

    [Fact]
    public async Task ServiceChatRead_OptIn_LetsAServiceReadChat_ButNeverPublishToIt()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:ApiKeys:0"] = ApiKey,
            ["Herald:Auth:ServiceChatRead"] = "true",
        });
        var guest = await server.OpenGuestDialogAsync("read-by-a-service");
        await server.PostGuestMessageAsync(guest, "for the archive");
        using var service = ServiceClient(server);
        var read = await service.GetFromJsonAsync<JsonElement>($"/api/poll?topic=dialog:{guest.DialogId},dialogs&after_id=0&timeout=0");
        Assert.Contains("for the archive", read.GetProperty("events").ToString(), StringComparison.Ordinal);

        using var forged = await service.PostAsJsonAsync("/api/publish", new { topic = $"dialog:{guest.DialogId}", data = 1 });
        await AssertError(forged, HttpStatusCode.Forbidden, "reserved");
    }

    [Fact]
    public async Task ServiceChatRead_WithoutApiKeys_RefusesToStart()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Auth:ServiceChatRead"] = "true",
        }));
        Assert.Contains("ServiceChatRead", ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://shop.example.com/\u00e9")]
    [InlineData("https://shop.example.com/\u0001")]
    [InlineData("https://shop.example.com\u0001")]
    [InlineData("https://sh\u00f6p.example.com")]
    public async Task Origin_WithControlOrNonAsciiCharacters_IsNotAllowed_NeverA500(string origin)
    {
        var assistant = await AssistantWithDomainsAsync("shop.example.com");
        var token = await SiteTokenAsync(assistant);
        foreach (var (method, target) in new[]
        {
            ("POST", $"/api/widget/dialogs?site_token={token}&guest_id=raw-1"),
            ("OPTIONS", $"/api/widget/dialogs?site_token={token}&guest_id=raw-1"),
            ("POST", $"/api/widget/dialogs?assistant_id={assistant}&guest_id=raw-2"),
            ("OPTIONS", $"/api/widget/dialogs?assistant_id={assistant}&guest_id=raw-2"),
            ("OPTIONS", "/api/validate-widget-token"),
            ("OPTIONS", "/api/dialogs"),
        })
        {
            var (status, headers, body) = await RawHttp.SendAsync(_server.BaseAddress, method, target, origin);
            Assert.True(status == 403, $"{method} {target}: {status}\n{headers}\n{body}{_server.ServerErrors()}");
            Assert.DoesNotContain("access-control-allow-origin", headers, StringComparison.OrdinalIgnoreCase);
            var json = JsonDocument.Parse(body).RootElement;
            Assert.Equal("forbidden", json.GetProperty("error").GetString());
            Assert.Contains("not allowed", json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal("", _server.ServerErrors());
    }

    [Fact]
    public async Task Origin_AllowedButWrittenDifferently_IsEchoedNormalised()
    {
        var assistant = await AssistantWithDomainsAsync("shop.example.com");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?assistant_id={assistant}&guest_id=upper");
        request.Headers.Add("Origin", "HTTPS://Shop.Example.COM:443");
        using var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("https://shop.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Theory]
    [InlineData("null")]
    [InlineData("chrome-extension://abcdefghijklmnopabcdefghijklmnop")]
    [InlineData("file://")]
    [InlineData("moz-extension://4b0f6a3e-0000-4000-8000-000000000000")]
    [InlineData("not an origin")]
    [InlineData("https://shop.example.com/path")]
    [InlineData("https://user@shop.example.com")]
    public async Task GuestAndSiteToken_FromANonWebOrigin_AreRefused_IncludingWebSockets(string origin)
    {
        var assistant = await AssistantWithDomainsAsync("shop.example.com");
        var token = await SiteTokenAsync(assistant);
        var dialog = (await _server.OpenGuestDialogAsync("non-web", assistant)).DialogId;

        using var guest = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?assistant_id={assistant}&guest_id=non-web");
        guest.Headers.TryAddWithoutValidation("Origin", origin);
        using (var response = await _server.Client.SendAsync(guest))
        {
            await AssertError(response, HttpStatusCode.Forbidden, "not allowed");
        }

        // The Referer no longer stands in for an Origin the browser did send.
        using var site = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?site_token={token}&guest_id=non-web");
        site.Headers.TryAddWithoutValidation("Origin", origin);
        site.Headers.Referrer = new Uri("https://shop.example.com/page");
        using (var response = await _server.Client.SendAsync(site))
        {
            await AssertError(response, HttpStatusCode.Forbidden, "not allowed");
        }

        foreach (var path in new[] { $"/ws/widget/dialogs/{dialog}?assistant_id={assistant}&guest_id=non-web", $"/ws/site/dialogs/{dialog}?site_token={token}&guest_id=non-web" })
        {
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Origin", origin);
            socket.Options.SetRequestHeader("Referer", "https://shop.example.com/page");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new Uri($"ws://{_server.BaseAddress.Authority}{path}"), cts.Token);
            var result = await socket.ReceiveAsync(new byte[1024], cts.Token);
            Assert.Equal(WebSocketMessageType.Close, result.MessageType);
            Assert.Equal(4003, (int?)socket.CloseStatus);
        }

        using var allowed = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?assistant_id={assistant}&guest_id=non-web");
        allowed.Headers.Add("Origin", "https://shop.example.com");
        using var allowedResponse = await _server.Client.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.OK, allowedResponse.StatusCode);
    }

    [Fact]
    public async Task OperatorEndpoints_WithWidgetParametersInTheQuery_AnswerNoCors()
    {
        var assistant = await AssistantWithDomainsAsync("shop.example.com");
        var token = await SiteTokenAsync(assistant);
        var dialog = (await _server.OpenGuestDialogAsync("cors-probe", assistant)).DialogId;
        foreach (var url in new[] { $"/api/dialogs?assistant_id={assistant}", $"/api/dialogs?site_token={token}", $"/api/dialogs/{dialog}/read?assistant_id={assistant}&guest_id=cors-probe" })
        {
            using var get = new HttpRequestMessage(url.Contains("/read", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get, url);
            get.Headers.Add("Origin", "https://shop.example.com");
            get.Headers.Authorization = _op.DefaultRequestHeaders.Authorization;
            using var response = await _server.Client.SendAsync(get);
            Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode}");
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), url);

            using var preflight = Preflight(url, "https://shop.example.com", "authorization");
            using var preflightResponse = await _server.Client.SendAsync(preflight);
            await AssertError(preflightResponse, HttpStatusCode.Forbidden, "not allowed");
            Assert.False(preflightResponse.Headers.Contains("Access-Control-Allow-Origin"), url);
        }
    }

    [Fact]
    public async Task Stats_Anonymous_CountsWithoutTopicNames_OperatorAndServiceSeeThem()
    {
        var guest = await _server.OpenGuestDialogAsync("stats-probe");
        await using var sse = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await Poll.UntilAsync(async () => (await _server.Client.GetFromJsonAsync<JsonElement>("/api/sse/stats")).GetProperty("active_connections").GetInt32() >= 1);

        using var anonymous = await _server.Client.GetAsync("/api/sse/stats");
        var text = await anonymous.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.DoesNotContain($"dialog:{guest.DialogId}", text, StringComparison.Ordinal);
        var details = JsonDocument.Parse(text).RootElement.GetProperty("connection_details");
        Assert.True(details.GetProperty("by_transport").GetProperty("sse").GetInt64() >= 1);
        Assert.True(details.GetProperty("topics").GetInt32() >= 1);
        Assert.False(details.TryGetProperty("by_topic", out _));

        using var service = ServiceClient(_server);
        foreach (var client in new[] { _op, service })
        {
            var full = await client.GetFromJsonAsync<JsonElement>("/api/sse/stats");
            Assert.Equal(1, full.GetProperty("connection_details").GetProperty("by_topic").GetProperty($"dialog:{guest.DialogId}").GetInt32());
        }

        using var badKey = new HttpRequestMessage(HttpMethod.Get, "/api/sse/stats");
        badKey.Headers.Add("X-Api-Key", "wrong");
        using var refused = await _server.Client.SendAsync(badKey);
        await AssertError(refused, HttpStatusCode.Unauthorized, "API key");
    }

    [Fact]
    public async Task OperatorOrigins_LetAConsoleOnAnotherOriginStreamAndCall_WithAnAuthorizationPreflight()
    {
        var guest = await _server.OpenGuestDialogAsync("console-on-3000");
        var jwt = await _server.LoginAsync();

        // Seed 000: the admin frontend on :3000 opens EventSource(http://…:8000/api/dialogs/1/events?token=…).
        using var stream = new HttpClient { BaseAddress = _server.BaseAddress };
        stream.DefaultRequestHeaders.Add("Origin", "http://localhost:3000");
        await using (var sse = await SseTestClient.ConnectAsync(stream, $"/api/dialogs/{guest.DialogId}/events?token={jwt}"))
        {
            Assert.Equal("http://localhost:3000", sse.Response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        using var preflight = Preflight("/api/dialogs", "http://localhost:3000", "authorization, content-type");
        using var preflightResponse = await _server.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("http://localhost:3000", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Authorization", preflightResponse.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        Assert.DoesNotContain("*", string.Join(",", preflightResponse.Headers.Select(h => string.Join(",", h.Value))), StringComparison.Ordinal);

        using var list = new HttpRequestMessage(HttpMethod.Get, "/api/dialogs");
        list.Headers.Add("Origin", "http://localhost:3000");
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
        using var listResponse = await _server.Client.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, listResponse.StatusCode);
        Assert.Equal("http://localhost:3000", listResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());

        // Another port is another origin.
        using var other = Preflight("/api/dialogs", "http://localhost:3001", "authorization");
        using var otherResponse = await _server.Client.SendAsync(other);
        Assert.Equal(HttpStatusCode.Forbidden, otherResponse.StatusCode);
        Assert.False(otherResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("http://localhost:3000/")]
    [InlineData("localhost:3000")]
    [InlineData("ftp://files.example.com")]
    [InlineData("null")]
    public async Task OperatorOrigins_NotAnHttpOrigin_RefusesToStart(string origin)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Cors:OperatorOrigins:0"] = origin,
        }));
        Assert.Contains("OperatorOrigins", ex.ToString(), StringComparison.Ordinal);
    }

    private static HttpRequestMessage Preflight(string url, string origin, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, url);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    /// <summary>
    /// HTTP/1.1 over a bare socket: HttpClient refuses to send header values with control or non-ASCII
    /// characters, which is exactly what these tests need to send.
    /// </summary>
    private static class RawHttp
    {
        public static async Task<(int Status, string Headers, string Body)> SendAsync(Uri server, string method, string target, string origin)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(server.Host, server.Port, cts.Token);
            var stream = tcp.GetStream();
            var head = $"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nOrigin: {origin}\r\n"
                + (method == "OPTIONS" ? "Access-Control-Request-Method: POST\r\n" : "")
                + "Content-Length: 0\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(head), cts.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var response = await reader.ReadToEndAsync(cts.Token);
            var split = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var headers = split < 0 ? response : response[..split];
            var status = int.Parse(headers.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
            return (status, headers, split < 0 ? "" : Dechunk(response[(split + 4)..], headers));
        }

        private static string Dechunk(string body, string headers)
        {
            if (!headers.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase))
            {
                return body;
            }

            var result = new StringBuilder();
            var position = 0;
            while (true)
            {
                var lineEnd = body.IndexOf("\r\n", position, StringComparison.Ordinal);
                var size = Convert.ToInt32(body[position..lineEnd], 16);
                if (size == 0)
                {
                    return result.ToString();
                }

                result.Append(body, lineEnd + 2, size);
                position = lineEnd + 2 + size + 2;
            }
        }
    }
}
