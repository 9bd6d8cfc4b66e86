using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Auth;

/// <summary>
/// Open streams end when what authorised them is withdrawn (revoke, rotate, domains changed, the identity rule, guest-mode
/// domains), within the documented 5 s, with the documented reason: on the node where the change is made and on another
/// node that shares the store (whose request caches still hold the old records).
/// </summary>
public sealed class RevocationTests : IAsyncLifetime
{
    private static readonly TimeSpan Documented = TimeSpan.FromSeconds(5);
    private const string Shop = "https://shop.example.com";

    private HeraldTestNode _a = null!;
    private HeraldTestNode? _b;
    private HttpClient _op = null!;

    public async Task InitializeAsync()
    {
        _a = await HeraldTestNode.StartInProcessAsync();
        _op = await _a.OperatorClientAsync();
    }

    public async Task DisposeAsync()
    {
        _op.Dispose();
        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        await _a.DisposeAsync();
    }

    [Theory]
    [InlineData("revoke", "sse", false)]
    [InlineData("revoke", "websocket", false)]
    [InlineData("rotate", "sse", false)]
    [InlineData("rotate", "websocket", false)]
    [InlineData("domains", "sse", false)]
    [InlineData("domains", "websocket", false)]
    [InlineData("identity", "sse", false)]
    [InlineData("identity", "websocket", false)]
    [InlineData("guest-domains", "sse", false)]
    [InlineData("revoke", "sse", true)]
    [InlineData("revoke", "websocket", true)]
    [InlineData("rotate", "sse", true)]
    [InlineData("domains", "websocket", true)]
    [InlineData("identity", "sse", true)]
    [InlineData("identity", "websocket", true)]
    [InlineData("guest-domains", "websocket", true)]
    public async Task OpenStream_GrantWithdrawn_EndsWithReasonWithinFiveSeconds(string change, string transport, bool otherNode)
    {
        var widget = await SetUpAsync(change);
        var node = otherNode ? await SecondNodeAsync() : _a;
        using var client = WidgetClient(node, widget.Origin);

        // The stream is live (and, on the other node, its caches now hold the grant as it was).
        await using var sse = transport == "sse" ? await SseTestClient.ConnectAsync(client, $"/api/dialogs/{widget.DialogId}/events?{widget.Query}") : null;
        await using var ws = transport == "websocket" ? await WsTestClient.ConnectAsync(node.BaseAddress, $"{widget.SocketPath}/{widget.DialogId}?{widget.Query}", widget.Origin) : null;
        if (ws is not null)
        {
            // A ping round trip proves the socket's subscriber is registered: a message posted before that would not
            // reach it (a socket opened without last_event_id starts live), and the test would wait in vain.
            await ws.SendAsync("__ping__");
            Assert.Equal("__pong__", await ws.ReceiveAsync());
        }

        using (var post = await client.PostAsJsonAsync($"/api/widget/dialogs/{widget.DialogId}/messages?{widget.Query}", new { text = "before" }))
        {
            Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        }

        if (sse is not null)
        {
            Assert.Equal("message", (await sse.NextAsync()).EventType);
        }
        else
        {
            Assert.Equal("before", (await ws!.ReceiveJsonAsync()).GetProperty("message").GetProperty("text").GetString());
        }

        var expected = await WithdrawAsync(change, widget);
        var clock = Stopwatch.StartNew();
        if (sse is not null)
        {
            var last = await sse.NextAsync(Documented);
            Assert.Equal("disconnect", last.EventType);
            var data = JsonDocument.Parse(last.Data).RootElement;
            Assert.Equal(Disconnect.AuthRevoked.Reason, data.GetProperty("reason").GetString());
            Assert.Equal(expected, data.GetProperty("detail").GetString());
            Assert.Null(last.EventId);
            await sse.WaitForEndAsync(Documented);
        }
        else
        {
            var (code, reason) = await ws!.WaitForCloseAsync(Documented);
            Assert.Equal(Disconnect.AuthRevoked.Code, code);
            Assert.Equal($"{Disconnect.AuthRevoked.Reason}: {expected}", reason);
        }

        Assert.True(clock.Elapsed < Documented, $"ended after {clock.Elapsed}");
        Assert.Equal("", _a.ServerErrors() + _b?.ServerErrors());
    }

    [Fact]
    public async Task Revoke_LeavesStreamsOfTheAssistantsOtherTokensOpen()
    {
        var revoked = await SetUpAsync("revoke");
        var kept = await IssueAsync(revoked.AssistantId, "shop.example.com");
        var keptQuery = $"site_token={kept.Token}&guest_id=visitor-2";
        var keptDialog = await OpenDialogFromShopAsync(keptQuery);
        using var client = WidgetClient(_a, Shop);
        await using var gone = await SseTestClient.ConnectAsync(client, $"/api/dialogs/{revoked.DialogId}/events?{revoked.Query}");
        await using var stays = await SseTestClient.ConnectAsync(client, $"/api/dialogs/{keptDialog}/events?{keptQuery}");

        await WithdrawAsync("revoke", revoked);
        Assert.Equal("disconnect", (await gone.NextAsync(Documented)).EventType);

        // A pass of the re-check has run (it closed the other stream); this one still delivers.
        using (var post = await client.PostAsJsonAsync($"/api/widget/dialogs/{keptDialog}/messages?{keptQuery}", new { text = "still here" }))
        {
            Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        }

        var next = await stays.NextAsync();
        Assert.Equal("message", next.EventType);
        Assert.Contains("still here", next.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitingLongPoll_Revoked_Answers403WithTheReason()
    {
        var widget = await SetUpAsync("revoke");
        using var client = WidgetClient(_a, Shop);
        using var head = await client.GetFromJsonAsync<JsonDocument>($"/api/dialogs/{widget.DialogId}/poll?{widget.Query}");
        var after = head!.RootElement.GetProperty("last_event_id").GetInt64();
        var poll = client.GetAsync($"/api/dialogs/{widget.DialogId}/poll?{widget.Query}&after_id={after}&timeout=25");
        // The poll is waiting once it is counted as a connection.
        var tracker = _a.GetService<Herald.Server.Hub.ConnectionTracker>();
        await Poll.UntilAsync(() => tracker.CountsByTransport().GetValueOrDefault("long-poll") == 1);

        await WithdrawAsync("revoke", widget);
        using var answer = await poll.WaitAsync(Documented);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(ErrorCodes.Forbidden, body.GetProperty("error").GetString());
        Assert.Contains("revoked", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private sealed record Widget(long AssistantId, long DialogId, string Query, string SocketPath, string? Origin, long TokenId);

    // Site-token mode for the token changes, guest mode (assistant_id + guest_id) for the assistant's own rules.
    private async Task<Widget> SetUpAsync(string change)
    {
        var assistant = await _a.CreateAssistantAsync();
        switch (change)
        {
            case "identity":
            {
                var guest = await _a.OpenGuestDialogAsync("visitor-1", assistant);
                return new Widget(assistant, guest.DialogId, guest.Query, "/ws/widget/dialogs", null, 0);
            }

            case "guest-domains":
            {
                await SetDomainsAsync(assistant, "shop.example.com");
                var query = $"assistant_id={assistant}&guest_id=visitor-1";
                return new Widget(assistant, await OpenDialogFromShopAsync(query), query, "/ws/widget/dialogs", Shop, 0);
            }

            default:
            {
                var (token, tokenId) = await IssueAsync(assistant, "shop.example.com");
                var query = $"site_token={token}&guest_id=visitor-1";
                return new Widget(assistant, await OpenDialogFromShopAsync(query), query, "/ws/site/dialogs", Shop, tokenId);
            }
        }
    }

    /// <summary>Makes the change on node A; returns the detail the stream should end with.</summary>
    private async Task<string> WithdrawAsync(string change, Widget widget)
    {
        switch (change)
        {
            case "revoke":
            case "rotate":
            {
                using var response = await _op.PostAsync($"/api/widgets/{widget.TokenId}/{change}", null);
                Assert.True(response.IsSuccessStatusCode, $"{change}: {(int)response.StatusCode}");
                return "revoked";
            }

            case "domains":
                await SetDomainsAsync(widget.AssistantId, "shop.example.com", "www.shop.example.com");
                return "domains changed";
            case "guest-domains":
                await SetDomainsAsync(widget.AssistantId, "other.example.com");
                return "domain not allowed";
            default:
            {
                using var response = await _op.PutAsJsonAsync($"/api/assistants/{widget.AssistantId}/identity", new { require_verified_identity = true });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return "unverified identity";
            }
        }
    }

    private async Task SetDomainsAsync(long assistant, params string[] domains)
    {
        using var response = await _op.PutAsJsonAsync($"/api/assistants/{assistant}/domains", new { allowed_domains = domains });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<(string Token, long Id)> IssueAsync(long assistant, params string[] domains)
    {
        using var response = await _op.PostAsJsonAsync("/api/widgets", new { assistant_id = assistant, allowed_domains = domains });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("token").GetString()!, body.GetProperty("id").GetInt64());
    }

    private async Task<long> OpenDialogFromShopAsync(string query)
    {
        using var open = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?{query}");
        open.Headers.Add("Origin", Shop);
        using var opened = await _a.Client.SendAsync(open);
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        return (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    // A second node on the same store (the SQLite file of node A); no Redis is needed: the grant lives in the store.
    private async Task<HeraldTestNode> SecondNodeAsync() => _b ??= await HeraldTestNode.StartInProcessAsync(dataDirectory: _a.DataDirectory);

    private static HttpClient WidgetClient(HeraldTestNode node, string? origin)
    {
        var client = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (origin is not null)
        {
            client.DefaultRequestHeaders.Add("Origin", origin);
        }

        return client;
    }
}
