using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.Options;

namespace Herald.Server.Tests.Operations;

/// <summary>
/// Herald believes X-Forwarded-For only from <c>Herald:Network:TrustedProxies</c> (loopback by default), so per-IP
/// limits count real clients behind a proxy and cannot be dodged by sending the header directly.
/// </summary>
public sealed class ForwardedHeadersTests
{
    [Fact]
    public async Task ForwardedFor_FromATrustedProxy_IsTheClientAddress()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Limits:MaxConnectionsPerIp"] = "1" });
        var path = await StreamPathAsync(server);
        using var a = await OpenAsync(server.Client, path, "203.0.113.1");
        using var b = await OpenAsync(server.Client, path, "203.0.113.2");
        using var again = await OpenAsync(server.Client, path, "203.0.113.1");
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
    }

    [Fact]
    public async Task ForwardedFor_WhenNoProxyIsTrusted_IsIgnored()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:MaxConnectionsPerIp"] = "1",
            ["Herald:Network:TrustedProxies"] = "",
        });
        var path = await StreamPathAsync(server);
        using var a = await OpenAsync(server.Client, path, "203.0.113.1");
        using var b = await OpenAsync(server.Client, path, "203.0.113.2");
        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, b.StatusCode);
        Assert.Equal("too_many_connections", (await b.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task TrustedProxies_Invalid_StopsTheNodeAtStartWithAClearMessage()
    {
        var data = Directory.CreateTempSubdirectory("herald-test-").FullName;
        try
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => HeraldTestNode.StartInProcessAsync(
                new Dictionary<string, string> { ["Herald:Network:TrustedProxies"] = "10.0.0.0/8, nginx.local" }, data));
            Assert.Contains("'nginx.local'", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<string> StreamPathAsync(HeraldTestNode server)
    {
        var guest = await server.OpenGuestDialogAsync("xff");
        return $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";
    }

    private static async Task<HttpResponseMessage> OpenAsync(HttpClient client, string path, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
