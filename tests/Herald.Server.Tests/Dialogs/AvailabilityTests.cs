using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Dialogs;

/// <summary>
/// Issue 19, item 8: the widget's "Online" means an operator is available (a console holds the operators' feed open),
/// not that the widget's own connection is up.
/// </summary>
public sealed class AvailabilityTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() =>
        _server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Presence:Interval"] = "00:00:00.200" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task<bool> AvailableAsync(Guest guest)
    {
        var answer = await _server.Client.GetFromJsonAsync<JsonElement>($"/api/widget/dialogs/{guest.DialogId}/availability?{guest.Query}");
        return answer.GetProperty("available").GetBoolean();
    }

    [Fact]
    public async Task Availability_FollowsWhetherAnOperatorHasTheConsoleOpen()
    {
        var guest = await _server.OpenGuestDialogAsync("visitor");
        await using (var widget = await SseTestClient.ConnectAsync(_server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}"))
        {
            // The visitor's own connection is up, and no operator is there.
            Assert.False(await AvailableAsync(guest));
        }

        var console = await SseTestClient.ConnectAsync(_server.Client, $"/api/events/admin?token={await _server.LoginAsync()}");
        await Poll.UntilAsync(() => AvailableAsync(guest));
        await console.DisposeAsync();
        await Poll.UntilAsync(async () => !await AvailableAsync(guest));
    }

    [Fact]
    public async Task Availability_OfAnotherGuestsDialog_IsRefused()
    {
        var guest = await _server.OpenGuestDialogAsync("visitor");
        using var response = await _server.Client.GetAsync($"/api/widget/dialogs/{guest.DialogId}/availability?assistant_id={guest.AssistantId}&guest_id=intruder");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("forbidden", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }
}
