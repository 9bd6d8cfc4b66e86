using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Ui;

/// <summary>
/// The UI assets Herald serves itself (Ui/UiEndpoints.cs): types and cache headers, the console page, the demo
/// page and its seeded assistant and token. What the pages do in a browser is tested in clients/js/test/ui.test.mjs.
/// </summary>
public sealed partial class UiTests : IAsyncLifetime
{
    private const string ProductionKey = "a-production-signing-key-of-at-least-32-bytes!";

    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/herald.js", "text/javascript; charset=utf-8")]
    [InlineData("/widget.js", "text/javascript; charset=utf-8")]
    [InlineData("/console.js", "text/javascript; charset=utf-8")]
    [InlineData("/chat-view.js", "text/javascript; charset=utf-8")]
    [InlineData("/console.css", "text/css; charset=utf-8")]
    [InlineData("/demo.css", "text/css; charset=utf-8")]
    public async Task Asset_IsServedWithTypeAndShortCache(string path, string contentType)
    {
        using var response = await _server.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.ToString());
        Assert.Equal("public, max-age=300", response.Headers.CacheControl!.ToString());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.NotNull(response.Headers.ETag);
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 100);
    }

    [Fact]
    public async Task Asset_WithItsETag_Is304()
    {
        using var first = await _server.Client.GetAsync("/widget.js");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/widget.js");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public async Task HeraldJs_IsTheClientFileItself()
    {
        // One copy: the project embeds clients/js/src/herald.js, it does not keep its own.
        var served = await _server.Client.GetByteArrayAsync("/herald.js");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot(), "clients", "js", "src", "herald.js")), served);
    }

    [Fact]
    public async Task Console_IsAnUncachedPageThatCannotBeFramed()
    {
        using var response = await _server.Client.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("<script type=\"module\" src=\"/console.js\">", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var head = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/console"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
    }

    [Theory]
    [InlineData("/console.html")]
    [InlineData("/demo.html")]
    [InlineData("/nothing.js")]
    [InlineData("/index.html")]
    public async Task PagesAsFilesAndUnknownPaths_AreTheApisJson404(string path)
    {
        using var response = await _server.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    /// <summary>Issue 19: a person who opens the server's address got the API's JSON 404; they are sent to the console.</summary>
    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task Root_RedirectsToTheConsole(string method)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/"));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/console", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Demo_InDevelopment_EmbedsAValidTokenOfTheDemoAssistantAndShowsTheLogin()
    {
        using var response = await _server.Client.GetAsync("/demo");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("{{", html, StringComparison.Ordinal);
        Assert.Contains(HeraldTestNode.AdminPassword, html, StringComparison.Ordinal);
        Assert.Contains("href=\"/console\"", html, StringComparison.Ordinal);

        var token = SiteToken(html);
        using var check = await _server.Client.PostAsJsonAsync("/api/validate-widget-token", new { token, domain = "localhost:8000" });
        var body = await check.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("valid").GetBoolean(), body.ToString());
        var demo = Assert.Single(await AssistantsAsync(_server), a => a.GetProperty("name").GetString() == "Demo shop");
        Assert.Equal(demo.GetProperty("id").GetInt64(), body.GetProperty("assistant_id").GetInt64());
    }

    [Fact]
    public async Task DemoSeeder_OnRestart_CreatesNothingNewAndKeepsTheToken()
    {
        var directory = Directory.CreateTempSubdirectory("herald-ui-").FullName;
        try
        {
            string first;
            await using (var node = await HeraldTestNode.StartInProcessAsync(dataDirectory: directory))
            {
                first = SiteToken(await node.Client.GetStringAsync("/demo"));
            }

            await using (var node = await HeraldTestNode.StartInProcessAsync(dataDirectory: directory))
            {
                Assert.Equal(first, SiteToken(await node.Client.GetStringAsync("/demo")));
                Assert.Single(await AssistantsAsync(node), a => a.GetProperty("name").GetString() == "Demo shop");
                using var op = await node.OperatorClientAsync();
                Assert.Single((await op.GetFromJsonAsync<JsonElement>("/api/widgets")).EnumerateArray());
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Demo_InProduction_IsOffUnlessEnabled()
    {
        var settings = new Dictionary<string, string> { ["Herald:Auth:SigningKey"] = ProductionKey };
        await using (var off = await HeraldTestNode.StartInProcessAsync(settings, environment: "Production"))
        {
            using var response = await off.Client.GetAsync("/demo");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            using var console = await off.Client.GetAsync("/console");
            Assert.Equal(HttpStatusCode.OK, console.StatusCode);
        }

        settings["Herald:Demo:Enabled"] = "true";
        await using var on = await HeraldTestNode.StartInProcessAsync(settings, environment: "Production");
        var html = await on.Client.GetStringAsync("/demo");
        // Outside Development the page does not print a password it cannot know.
        Assert.DoesNotContain(HeraldTestNode.AdminPassword, html, StringComparison.Ordinal);
        Assert.Contains("Sign in with your operator account", html, StringComparison.Ordinal);
        using var check = await on.Client.PostAsJsonAsync("/api/validate-widget-token", new { token = SiteToken(html), domain = "127.0.0.1:1234" });
        Assert.True((await check.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("valid").GetBoolean(), "the demo token allows the host Herald listens on");
        using var elsewhere = await on.Client.PostAsJsonAsync("/api/validate-widget-token", new { token = SiteToken(html), domain = "shop.example.com" });
        Assert.Equal("domain not allowed", (await elsewhere.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reason").GetString());
    }

    private static string SiteToken(string html) => DemoTokenPattern().Match(html) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no data-site-token on the page");

    private static async Task<List<JsonElement>> AssistantsAsync(HeraldTestNode server)
    {
        using var op = await server.OperatorClientAsync();
        return [.. (await op.GetFromJsonAsync<JsonElement>("/api/assistants")).EnumerateArray()];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Herald.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("data-site-token=\"(hwt_[A-Za-z0-9_-]+)\"")]
    private static partial Regex DemoTokenPattern();
}
