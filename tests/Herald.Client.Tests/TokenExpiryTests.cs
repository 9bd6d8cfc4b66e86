using System.Net;
using System.Threading.Channels;
using Herald.Client.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Client.Tests;

/// <summary>Operator streams and expiring tokens: tokens live 4 s, and streams are warned 3 s before expiry.</summary>
public sealed class TokenExpiryTests : IAsyncLifetime
{
    private HeraldTestNode _node = null!;

    public async Task InitializeAsync() => _node = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
    {
        ["Herald:Auth:TokenLifetime"] = "00:00:04",
        ["Herald:Streams:AuthWarningLead"] = "00:00:03",
        ["Herald:Streams:RetryMilliseconds"] = "100",
        ["Herald:Streams:RetryJitterMilliseconds"] = "0",
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task SubscribeDialogAsync_WithRefreshToken_ExtendsTheOpenStreamPastExpiry()
    {
        var logger = new SignalLogger();
        using var client = new HeraldClient(_node.BaseAddress, new HeraldClientOptions { Logger = logger });
        var refreshes = Channel.CreateUnbounded<string>();
        var credentials = HeraldCredentials.Operator(await _node.LoginAsync(), async ct =>
        {
            var token = (await client.LoginAsync(HeraldTestNode.AdminEmail, HeraldTestNode.AdminPassword, ct)).AccessToken;
            refreshes.Writer.TryWrite(token);
            return token;
        });
        var guest = HeraldCredentials.Guest(await _node.CreateAssistantAsync("Client tests"), "refresh");
        var dialog = await client.OpenGuestDialogAsync(guest);
        await using var events = new EventReader(ct => client.SubscribeDialogAsync(dialog.Id, credentials, cancellationToken: ct));
        await logger.WaitForAsync(1, TimeSpan.FromSeconds(10));

        // Four refreshes take ≈ 4 s: by then the first token has expired.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 4; i++)
        {
            await refreshes.Reader.ReadAsync(timeout.Token);
        }

        await client.PostGuestMessageAsync(dialog.Id, guest, "still open");
        var message = await events.NextAsync(e => e.MessageNew is not null);
        Assert.Equal("still open", message.MessageNew!.Text);
        Assert.Equal(1, logger.Count(1)); // connected once: extended in place, never reconnected
    }

    [Fact]
    public async Task SubscribeDialogAsync_TokenExpiresWithoutRefresh_EndsWithUnauthorized()
    {
        using var client = new HeraldClient(_node.BaseAddress);
        var credentials = HeraldCredentials.Operator(await _node.LoginAsync());
        var guest = HeraldCredentials.Guest(await _node.CreateAssistantAsync("Client tests"), "expire");
        var dialog = await client.OpenGuestDialogAsync(guest);
        await using var events = new EventReader(ct => client.SubscribeDialogAsync(dialog.Id, credentials, cancellationToken: ct));

        var warning = await events.NextAsync(e => e.Event == "auth-expiring");
        var error = await Assert.ThrowsAsync<HeraldException>(() => events.NextAsync(TimeSpan.FromSeconds(10)));

        Assert.StartsWith("/api/streams/", warning.Data.GetProperty("refresh").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
