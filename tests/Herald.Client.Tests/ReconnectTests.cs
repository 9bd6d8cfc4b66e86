using Herald.Client.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Client.Tests;

/// <summary>Subscriptions that outlive their connection: a server restart, and a connection that goes silent.</summary>
public sealed class ReconnectTests
{
    [Fact]
    public async Task SubscribeDialogAsync_ServerRestart_ResumesWithoutLossOrDuplicates()
    {
        // retry: 3 s without jitter: the node is back (≈1 s) and has taken new messages before the client returns,
        // so only the Last-Event-ID replay can deliver them.
        await using var node = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Streams:RetryMilliseconds"] = "3000",
            ["Herald:Streams:RetryJitterMilliseconds"] = "0",
        });
        var logger = new SignalLogger();
        using var client = new HeraldClient(node.BaseAddress, new HeraldClientOptions { Logger = logger });
        var token = HeraldCredentials.Operator(await node.LoginAsync());
        var guest = HeraldCredentials.Guest(await node.CreateAssistantAsync("Client tests"), "restart");
        var dialog = await client.OpenGuestDialogAsync(guest);
        await using var events = new EventReader(ct => client.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct));
        await logger.WaitForAsync(1, TimeSpan.FromSeconds(10));
        await client.PostGuestMessageAsync(dialog.Id, guest, "before");
        var before = await events.NextAsync();

        await node.RestartAsync();
        var reconnecting = await logger.WaitForAsync(2, TimeSpan.FromSeconds(10));
        // The server's retry: was honoured: a draining node sends a fresh one between its reconnect bounds.
        Assert.Matches(@"\b[0-9]{3,5} ms", reconnecting);
        await client.PostGuestMessageAsync(dialog.Id, guest, "during 1");
        await client.PostGuestMessageAsync(dialog.Id, guest, "during 2");
        var replayed = await events.MessagesAsync(2);
        await client.PostGuestMessageAsync(dialog.Id, guest, "after");
        var live = await events.NextAsync();

        var all = new[] { before }.Concat(replayed).Append(live).ToList();
        Assert.Equal(["before", "during 1", "during 2", "after"], all.Select(e => e.MessageNew!.Text));
        var ids = all.Select(e => e.Id!.Value).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(4, ids.Distinct().Count());
        var counters = (await node.StatsAsync()).GetProperty("counters");
        Assert.True(counters.GetProperty("replayed_events").GetInt64() >= 2, $"nothing was replayed: {counters}");
        Assert.True(await events.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "an event arrived twice");
    }

    [Fact]
    public async Task SubscribeDialogAsync_ServerDown_KeepsRetryingWithBackoffUntilItIsBack()
    {
        await using var node = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Streams:RetryMilliseconds"] = "100",
            ["Herald:Streams:RetryJitterMilliseconds"] = "0",
        });
        var logger = new SignalLogger();
        // A restart now drains first, so the post may meet a closed port for a few seconds: allow more retries.
        using var client = new HeraldClient(node.BaseAddress, new HeraldClientOptions { Logger = logger, ReconnectDelay = TimeSpan.FromMilliseconds(100), PostRetries = 10 });
        var token = HeraldCredentials.Operator(await node.LoginAsync());
        var guest = HeraldCredentials.Guest(await node.CreateAssistantAsync("Client tests"), "down");
        var dialog = await client.OpenGuestDialogAsync(guest);
        await using var events = new EventReader(ct => client.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct));
        await logger.WaitForAsync(1, TimeSpan.FromSeconds(10));
        await client.PostGuestMessageAsync(dialog.Id, guest, "one");
        await events.NextAsync();

        // Two restarts in a row: the client sees refused connections in between and must keep trying. The post is
        // sent while the second restart runs: it may need retries, and must still be stored exactly once.
        await node.RestartAsync();
        await logger.WaitForAsync(2, TimeSpan.FromSeconds(10));
        var restart = node.RestartAsync();
        var post = client.PostGuestMessageAsync(dialog.Id, guest, "two");
        await restart;
        await post;

        var two = await events.NextAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("two", two.MessageNew!.Text);
        Assert.True(await events.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "the post was stored or delivered twice");
        Assert.Equal(["one", "two"], (await client.GetMessagesAsync(dialog.Id, guest)).Select(m => m.Text));
    }

    [Fact]
    public async Task SubscribeDialogAsync_SilentConnection_ReconnectsAfterIdleTimeoutAndLosesNothing()
    {
        // No heartbeat after the first: to the client the connection looks dead after IdleTimeout.
        await using var node = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Streams:HeartbeatInterval"] = "01:00:00",
            ["Herald:Streams:RetryMilliseconds"] = "100",
            ["Herald:Streams:RetryJitterMilliseconds"] = "0",
        });
        var logger = new SignalLogger();
        using var client = new HeraldClient(node.BaseAddress, new HeraldClientOptions { Logger = logger, IdleTimeout = TimeSpan.FromMilliseconds(700) });
        var token = HeraldCredentials.Operator(await node.LoginAsync());
        var guest = HeraldCredentials.Guest(await node.CreateAssistantAsync("Client tests"), "silent");
        var dialog = await client.OpenGuestDialogAsync(guest);
        await using var events = new EventReader(ct => client.SubscribeDialogAsync(dialog.Id, guest, cancellationToken: ct));

        var reason = await logger.WaitForAsync(2, TimeSpan.FromSeconds(10));
        Assert.Contains("heartbeat", reason, StringComparison.Ordinal);
        await client.PostGuestMessageAsync(dialog.Id, guest, "still here");

        var message = await events.NextAsync();
        Assert.Equal("still here", message.MessageNew!.Text);
        Assert.True(await events.IsQuietAsync(TimeSpan.FromMilliseconds(300)), "an event arrived twice");
    }
}
