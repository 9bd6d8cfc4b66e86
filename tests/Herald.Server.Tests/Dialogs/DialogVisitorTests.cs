using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Testing;

namespace Herald.Server.Tests.Dialogs;

/// <summary>
/// Where a dialog's visitor is (issue 19, item 11): the widget says its page and referrer, the browser comes from
/// User-Agent; operators read it. Only the dialog's own guest writes it, only http(s) addresses are kept.
/// </summary>
public sealed class DialogVisitorTests : IAsyncLifetime
{
    private const string ChromeOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task SetVisitor_GuestSaysWhere_OperatorReadsTheLatest()
    {
        var guest = await _server.OpenGuestDialogAsync("visitor-1");
        using var op = await _server.OperatorClientAsync();
        var before = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/visitor");
        Assert.Equal(JsonValueKind.Null, before.GetProperty("page_url").ValueKind);
        Assert.Equal(JsonValueKind.Null, before.GetProperty("user_agent").ValueKind);

        using (var first = await SayAsync(guest, new { page_url = "https://shop.example.com/teapots?color=black", referrer = "https://www.google.com/" }))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var read = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/visitor");
        Assert.Equal(guest.DialogId, read.GetProperty("dialog_id").GetInt64());
        Assert.Equal("https://shop.example.com/teapots?color=black", read.GetProperty("page_url").GetString());
        Assert.Equal("https://www.google.com/", read.GetProperty("referrer").GetString());
        Assert.Equal(ChromeOnWindows, read.GetProperty("user_agent").GetString());

        // The next page view replaces it; an empty referrer (document.referrer without one) is none.
        using (var second = await SayAsync(guest, new { page_url = "https://shop.example.com/checkout", referrer = "" }))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }

        read = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/visitor");
        Assert.Equal("https://shop.example.com/checkout", read.GetProperty("page_url").GetString());
        Assert.Equal(JsonValueKind.Null, read.GetProperty("referrer").ValueKind);
    }

    [Theory]
    [InlineData("page_url", "javascript:alert(1)")]
    [InlineData("page_url", "/teapots")]
    [InlineData("page_url", "ftp://shop.example.com/")]
    [InlineData("referrer", "data:text/html,<script>alert(1)</script>")]
    [InlineData("referrer", "https://shop.example.com/\nX-Injected: 1")]
    [InlineData("page_url", "https://shop.example.com/?q=LONG")]
    public async Task SetVisitor_NotAnHttpAddress_Is400AndChangesNothing(string field, string value)
    {
        var guest = await _server.OpenGuestDialogAsync("visitor-bad");
        using (var good = await SayAsync(guest, new { page_url = "https://shop.example.com/", referrer = "https://example.org/" }))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        }

        value = value.Replace("LONG", new string('a', 2100), StringComparison.Ordinal);
        using var bad = await SayAsync(guest, new Dictionary<string, string> { [field] = value });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var error = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_field", error.GetProperty("error").GetString());
        Assert.Contains(field, error.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var op = await _server.OperatorClientAsync();
        var read = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/visitor");
        Assert.Equal("https://shop.example.com/", read.GetProperty("page_url").GetString());
        Assert.Equal("https://example.org/", read.GetProperty("referrer").GetString());
    }

    [Fact]
    public async Task Visitor_OnlyItsGuestWritesAndOnlyOperatorsRead()
    {
        var guest = await _server.OpenGuestDialogAsync("visitor-owner");
        var other = await _server.OpenGuestDialogAsync("visitor-other", guest.AssistantId);
        var body = new { page_url = "https://evil.example.com/" };

        using var byOther = await _server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/visitor?{other.Query}", body);
        Assert.Equal(HttpStatusCode.Forbidden, byOther.StatusCode);
        using var anonymous = await _server.Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/visitor", body);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var op = await _server.OperatorClientAsync();
        using var byOperator = await op.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/visitor", body);
        Assert.Equal(HttpStatusCode.Forbidden, byOperator.StatusCode);
        using var readByGuest = await _server.Client.GetAsync($"/api/dialogs/{guest.DialogId}/visitor?{guest.Query}");
        Assert.Equal(HttpStatusCode.Forbidden, readByGuest.StatusCode);

        var read = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/visitor");
        Assert.Equal(JsonValueKind.Null, read.GetProperty("page_url").ValueKind);
    }

    private async Task<HttpResponseMessage> SayAsync(Guest guest, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs/{guest.DialogId}/visitor?{guest.Query}")
        {
            Content = JsonContent.Create(body),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", ChromeOnWindows);
        return await _server.Client.SendAsync(request);
    }
}
