using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.Dialogs;

/// <summary>
/// Opening dialogs is rate limited per address and per assistant, returning visitors are not counted, and dialogs
/// nobody has written in cannot push conversations off the operators' list.
/// </summary>
public sealed class DialogFloodTests
{
    [Fact]
    public async Task OpenDialog_FloodFromOneAddress_Is429WithRetryAfter_ReturningVisitorsAreNotCounted()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:DialogsPerIpPerMinute"] = "1",
            ["Herald:Limits:DialogBurstPerIp"] = "5",
        });
        var assistant = await server.CreateAssistantAsync();
        var first = await server.OpenGuestDialogAsync("visitor-0", assistant);
        for (var i = 1; i < 5; i++)
        {
            await server.OpenGuestDialogAsync($"visitor-{i}", assistant);
        }

        using (var flood = await server.Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=visitor-5", null))
        {
            await AssertRateLimitedAsync(flood, "dialogs_per_ip");
        }

        // The first visitor comes back (a page view): its dialog, not a 429, and nothing new.
        using var again = await server.Client.PostAsync($"/api/widget/dialogs?{first.Query}", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.DialogId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        using var op = await server.OperatorClientAsync();
        Assert.Equal(5, (await op.GetFromJsonAsync<JsonElement>($"/api/dialogs?assistant_id={assistant}&include_empty=true")).GetArrayLength());
    }

    [Fact]
    public async Task OpenDialog_FloodOfOneAssistant_Is429_OtherAssistantsStillOpen()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:DialogsPerIpPerMinute"] = "0",
            ["Herald:Limits:DialogsPerAssistantPerMinute"] = "1",
            ["Herald:Limits:DialogBurstPerAssistant"] = "3",
        });
        var flooded = await server.CreateAssistantAsync("Flooded");
        var other = await server.CreateAssistantAsync("Other");
        for (var i = 0; i < 3; i++)
        {
            await server.OpenGuestDialogAsync($"visitor-{i}", flooded);
        }

        using (var refused = await server.Client.PostAsync($"/api/widget/dialogs?assistant_id={flooded}&guest_id=visitor-3", null))
        {
            await AssertRateLimitedAsync(refused, "dialogs_per_assistant");
        }

        await server.OpenGuestDialogAsync("visitor-3", other);
    }

    [Fact]
    public async Task ListDialogs_AfterAFloodOfEmptyDialogs_ShowsTheConversationsFirst_IncludeEmptyShowsAll()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Limits:DialogsPerIpPerMinute"] = "0",
            ["Herald:Limits:DialogsPerAssistantPerMinute"] = "0",
            ["Herald:Chat:MaxHistoryPage"] = "5",
        });
        var assistant = await server.CreateAssistantAsync();
        var talking = await server.OpenGuestDialogAsync("visitor-who-wrote", assistant);
        await server.PostGuestMessageAsync(talking, "Hello, anyone there?");
        for (var i = 0; i < 8; i++)
        {
            await server.OpenGuestDialogAsync($"flood-{i}", assistant);
        }

        using var op = await server.OperatorClientAsync();
        var listed = await op.GetFromJsonAsync<JsonElement>("/api/dialogs");
        Assert.Equal(talking.DialogId, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetInt64());

        var all = await op.GetFromJsonAsync<JsonElement>("/api/dialogs?include_empty=true");
        Assert.Equal(5, all.GetArrayLength());
        using var bad = await op.GetAsync("/api/dialogs?include_empty=maybe");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(ErrorCodes.InvalidField, (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("DialogBurstPerIp", "0", "DialogsPerIpPerMinute", "10")]
    [InlineData("DialogsPerAssistantPerMinute", "-1", "DialogBurstPerAssistant", "5")]
    [InlineData("MessageBurstPerGuest", "0", "MessagesPerGuestPerSecond", "3")]
    [InlineData("LoginsPerIpPerMinute", "-5", "LoginsPerIpPerMinute", "-5")]
    public async Task Limits_Unworkable_RefuseToStart(string key, string value, string withKey, string withValue)
    {
        var settings = new Dictionary<string, string> { ["Herald:Limits:" + withKey] = withValue, ["Herald:Limits:" + key] = value };
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => HeraldTestNode.StartInProcessAsync(settings));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    private static async Task AssertRateLimitedAsync(HttpResponseMessage response, string limit)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, "Retry-After is missing");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(ErrorCodes.RateLimited, body.GetProperty("error").GetString());
        Assert.Contains(limit, body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
