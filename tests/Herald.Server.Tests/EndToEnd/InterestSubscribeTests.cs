using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Data.Sqlite;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Two real nodes with <c>Herald:Redis:Subscribe=interest</c> on one redis-server and one store: what /metrics and
/// <c>redis-cli PUBSUB NUMSUB</c> show of a node that holds no stream of a dialog, then one, then none again — and the
/// streams on both nodes get every chat message once, in order, the runbook's channel <c>ws:dialog:{id}</c> unchanged.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class InterestSubscribeTests : IAsyncLifetime
{
    private readonly RedisServerFixture _redis = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-interest-e2e-").FullName;
    private HeraldTestNode _a = null!;
    private HeraldTestNode _b = null!;

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        var settings = new Dictionary<string, string>
        {
            ["Herald:Redis:Url"] = _redis.Url,
            ["Herald:Redis:Subscribe"] = "interest",
            ["Herald:Redis:InterestLinger"] = "00:00:00.200",
        };
        _a = await HeraldTestNode.StartInProcessAsync(settings, _directory);
        _b = await HeraldTestNode.StartInProcessAsync(settings, _directory);
        await Poll.UntilAsync(async () => await RedisStateAsync(_a) == "connected" && await RedisStateAsync(_b) == "connected");
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _redis.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<string?> RedisStateAsync(HeraldTestNode node) => (await node.HealthAsync()).GetProperty("redis").GetString();

    private async Task<int> ListenersAsync(string channel)
    {
        var output = await RedisCli.RunAsync(_redis.Port, "PUBSUB", "NUMSUB", channel);
        return int.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Text(System.Net.ServerSentEvents.SseItem<string> e) =>
        JsonDocument.Parse(e.Data).RootElement.GetProperty("message").GetProperty("text").GetString()!;

    [Fact]
    public async Task NodeWithoutAStream_GetsMarkersNotBodies_ThenSubscribesForOne_AndLetsGoAfterTheLinger()
    {
        var guest = await _a.OpenGuestDialogAsync("interest");
        var url = $"/api/dialogs/{guest.DialogId}/events?{guest.Query}";
        var channel = $"ws:dialog:{guest.DialogId}";
        await using var onA = await SseTestClient.ConnectAsync(_a.Client, url);
        await Poll.UntilAsync(async () => await ListenersAsync(channel) == 1);
        for (var i = 0; i < 5; i++)
        {
            await _a.PostGuestMessageAsync(guest, $"a{i}");
        }

        var head = (await _a.HealthAsync()).GetProperty("last_event_id").GetInt64();
        await Poll.UntilAsync(async () => (await _b.HealthAsync()).GetProperty("last_event_id").GetInt64() >= head);
        var quiet = await MetricsScrape.ReadAsync(_b.Client);
        Assert.Equal(0, quiet["herald_backplane_events_received_total"]);
        Assert.True(quiet["herald_backplane_markers_received_total"] >= 1, quiet.Text);
        Assert.True(quiet["herald_events_covered_total"] >= 5, quiet.Text);

        await using (var onB = await SseTestClient.ConnectAsync(_b.Client, url))
        {
            await Poll.UntilAsync(async () => await ListenersAsync(channel) == 2);
            for (var i = 0; i < 6; i++)
            {
                await (i % 2 == 0 ? _a : _b).PostGuestMessageAsync(guest, $"m{i}");
            }

            string[] expected = ["m0", "m1", "m2", "m3", "m4", "m5"];
            Assert.Equal(["a0", "a1", "a2", "a3", "a4", .. expected], (await onA.TakeAsync(11)).Select(Text));
            Assert.Equal(expected, (await onB.TakeAsync(6)).Select(Text));
            Assert.True(await onB.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "node B delivered a message twice");
            var busy = await MetricsScrape.ReadAsync(_b.Client);
            Assert.True(busy["herald_backplane_events_received_total"] >= 3, busy.Text);
        }

        await Poll.UntilAsync(async () => await ListenersAsync(channel) == 1);
    }
}
