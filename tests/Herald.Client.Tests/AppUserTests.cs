using System.Text.Json;
using System.Threading.Channels;
using Herald.Client.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Client.Tests;

/// <summary>An application's user (issue 17): subscribes and publishes with an app token, and refreshes it in band.</summary>
public sealed class AppUserTests : IAsyncLifetime
{
    private HeraldTestNode _node = null!;

    public async Task InitializeAsync() => _node = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
    {
        ["Herald:AppTokens:Keys:0:Secret"] = AppTokenMinter.Secret,
        ["Herald:Streams:AuthWarningLead"] = "00:00:03",
    });

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task SubscribeTopicsAsync_AppUser_ReceivesWhatItPublishes_AndOutlivesItsFirstTokenWithRefresh()
    {
        var logger = new SignalLogger();
        using var client = new HeraldClient(_node.BaseAddress, new HeraldClientOptions { Logger = logger });
        var refreshes = Channel.CreateUnbounded<string>();
        string Mint() => AppTokenMinter.Mint("user-5", ["room:5"], publish: ["room:5"], expires: DateTime.UtcNow.AddSeconds(5));
        var credentials = HeraldCredentials.AppUser(Mint(), ct =>
        {
            var token = Mint();
            refreshes.Writer.TryWrite(token);
            return Task.FromResult(token);
        });
        await using var events = new EventReader(ct => client.SubscribeTopicsAsync(["room:5"], credentials, cancellationToken: ct));
        await logger.WaitForAsync(1, TimeSpan.FromSeconds(10));

        // Three refreshes take ≈ 6 s (a warning 3 s before each 5 s token expires): the first token has expired by then.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 3; i++)
        {
            await refreshes.Reader.ReadAsync(timeout.Token);
        }

        var id = await client.PublishAsync("room:5", "say", JsonSerializer.SerializeToElement(new { text = "hi" }), HeraldCredentials.AppUser(Mint()));
        var said = await events.NextAsync(e => e.Event == "say");
        Assert.Equal(id, said.Id);
        Assert.Equal("user-5", said.Data.GetProperty("sub").GetString());
        Assert.Equal("hi", said.Data.GetProperty("data").GetProperty("text").GetString());
        Assert.Equal(1, logger.Count(1)); // connected once: extended in place
    }
}
