using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Hosting;
using Herald.Server.Pipeline;
using Herald.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Server.Tests.Backplane;

/// <summary>
/// The Redis bus against a real redis-server (one per test): the local contract, plus what a backplane adds —
/// every node gets every event once and in order, ephemeral events cross once, an outage neither blocks
/// publishers nor outlives the reconnect, and a restart under live subscriptions is followed by a resubscribe. The
/// subclasses run the same tests over sharded channels, TLS and an ACL user.
/// </summary>
public class RedisBusContractTests : BusContractTests
{
    private RedisServerFixture _redis = null!;

    protected override string ConnectedState => "connected";

    public override async Task InitializeAsync()
    {
        _redis = CreateServer();
        await _redis.InitializeAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DisposeAsync();
    }

    /// <summary>The server every node of a test shares (plain, no password).</summary>
    protected virtual RedisServerFixture CreateServer() => new();

    /// <summary>How the nodes reach <paramref name="redis"/>.</summary>
    protected virtual void Configure(RedisOptions options, RedisServerFixture redis) => options.Url = redis.Url;

    protected override async Task<IEventBus> StartBusAsync(EventDispatcher dispatcher, HeraldMetrics metrics)
    {
        var options = Microsoft.Extensions.Options.Options.Create(Options(o => Configure(o.Redis, _redis)));
        var bus = new RedisBus(dispatcher, HeraldApp.BackplaneChannels(options.Value.Redis), metrics, options, NullLogger<RedisBus>.Instance, TimeProvider.System);
        await bus.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => bus.State == "connected");
        return bus;
    }

    protected override async Task StopBusAsync(IEventBus bus)
    {
        var redis = (RedisBus)bus;
        await redis.StopAsync(CancellationToken.None);
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task Publish_OnEitherNode_ReachesEveryNodeOnceInIdOrder()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var fromA = await CommitAsync(50);
        a.Bus.Publish(fromA);
        await b.ReceiveAsync(50);

        // B publishes only after it has A's events, so on A's subscription to Redis every echo of A's own events comes
        // before B's: once A has B's last event, any duplicate of its own would already have been delivered.
        var fromB = await CommitAsync(50);
        b.Bus.Publish(fromB);
        List<long> all = [.. fromA.Select(e => e.Id), .. fromB.Select(e => e.Id)];
        Assert.Equal(all, await a.ReceiveAsync(100));
        Assert.Equal(all, await b.ReceiveAsync(100));

        // The same fence the other way: once B has A's next event, B's own echoes are behind it. ReceiveAsync drains
        // whatever is queued, so a duplicate anywhere before the fence would make a list longer than expected.
        var fence = await CommitAsync(1);
        a.Bus.Publish(fence);
        List<long> withFence = [.. all, fence[0].Id];
        Assert.Equal(withFence, await b.ReceiveAsync(101));
        Assert.Equal(withFence, await a.ReceiveAsync(101));
    }

    [Fact]
    public async Task Publish_Ephemeral_ReachesTheOtherNodeOnce_AndIsNotEchoedToThePublisher()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        a.Bus.Publish([Ephemeral("typing")]);
        Assert.Equal(["typing"], (await b.ReceiveEventsAsync(1)).Select(e => e.Type));

        // A fence from B: when A has it, Redis has already handed A the echo of its own ephemeral event (if any).
        var fence = await CommitAsync(1);
        b.Bus.Publish(fence);
        var atA = await a.ReceiveEventsAsync(2);
        Assert.Equal(["typing", "message"], atA.Select(e => e.Type));
        Assert.Equal(2, a.Received.Count);
        Assert.Equal(2, (await b.ReceiveEventsAsync(2)).Count);
    }

    [Fact]
    public async Task Publish_WhileRedisIsDown_ReturnsAtOnceAndDeliversLocally_ThenCrossesNodesAgainAfterTheReconnect()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        await _redis.StopAsync();
        await Poll.UntilAsync(() => a.Bus.State == "disconnected");

        var during = await CommitAsync(5);
        var publish = Task.Run(() => a.Bus.Publish(during));
        await publish.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(during.Select(e => e.Id), await a.ReceiveAsync(5));

        await _redis.StartAsync();
        await Poll.UntilAsync(() => a.Bus.State == "connected" && b.Bus.State == "connected", TimeSpan.FromSeconds(30));

        // What Redis lost while down is not the bus's to recover: B catches up from the store (StoreWatcher does this in
        // the server). After that, new events cross again over the re-established subscriptions.
        await b.Dispatcher.CatchUpAsync();
        await ProbeUntilCrossedAsync(a, b);
        var after = await CommitAsync(5);
        a.Bus.Publish(after);
        Assert.Equal([.. during.Select(e => e.Id), .. after.Select(e => e.Id)], await b.ReceiveDurableAsync(10));
    }

    [Fact]
    public async Task RedisRestart_UnderLiveSubscriptions_ResubscribesAndEventsCrossAgain()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var before = await CommitAsync(3);
        a.Bus.Publish(before);
        await b.ReceiveAsync(3);

        await _redis.RestartAsync();
        await Poll.UntilAsync(() => ((RedisBus)a.Bus).ReconnectCount > 0 && ((RedisBus)b.Bus).ReconnectCount > 0, TimeSpan.FromSeconds(30));

        await ProbeUntilCrossedAsync(a, b);
        var after = await CommitAsync(20);
        a.Bus.Publish(after);
        Assert.Equal([.. before.Select(e => e.Id), .. after.Select(e => e.Id)], await b.ReceiveDurableAsync(23));
    }

    /// <summary>
    /// "connected" can be reported a moment before the multiplexer has re-issued its subscriptions. An ephemeral event
    /// reaches <paramref name="to"/> only over a live subscription (nothing reads it from the store), so its arrival
    /// proves the subscription is back; until then each may be lost, so it is repeated, a bounded number of times.
    /// </summary>
    private static async Task ProbeUntilCrossedAsync(BusNode from, BusNode to)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            from.Bus.Publish([Ephemeral("probe")]);
            if (await to.WaitForAsync(e => e.Type == "probe", TimeSpan.FromMilliseconds(200)))
            {
                return;
            }
        }

        Assert.Fail("no ephemeral event crossed within 20 s of the reconnect");
    }
}

/// <summary>The whole Redis contract with <c>Herald:Redis:ChannelMode=sharded</c> (SPUBLISH/SSUBSCRIBE) on one Redis 7.</summary>
public sealed class ShardedRedisBusContractTests : RedisBusContractTests
{
    protected override void Configure(RedisOptions options, RedisServerFixture redis)
    {
        base.Configure(options, redis);
        options.ChannelMode = "sharded";
        options.ShardChannels = 4;
    }
}

/// <summary>The whole Redis contract over TLS (<c>rediss://</c>), the server's private CA given by <c>Herald:Redis:TlsCaFile</c>.</summary>
public sealed class TlsRedisBusContractTests : RedisBusContractTests
{
    protected override RedisServerFixture CreateServer() => new TlsRedisServerFixture();

    protected override void Configure(RedisOptions options, RedisServerFixture redis)
    {
        Assert.StartsWith("rediss://", redis.Url, StringComparison.Ordinal);
        options.Url = redis.Url;
        options.TlsCaFile = ((TlsRedisServerFixture)redis).CertificateFile;
    }
}

/// <summary>
/// The whole Redis contract as an ACL user, named in a StackExchange.Redis configuration string, on a server whose
/// default user has a password with URL-special characters.
/// </summary>
public sealed class AclRedisBusContractTests : RedisBusContractTests
{
    protected override RedisServerFixture CreateServer() => new AclRedisServerFixture();

    protected override void Configure(RedisOptions options, RedisServerFixture redis) =>
        options.Url = $"127.0.0.1:{redis.Port},user={AclRedisServerFixture.User},password={AclRedisServerFixture.UserPassword}";

    private sealed class AclRedisServerFixture() : RedisServerFixture(new RedisServerSettings
    {
        Password = "s3cret:@/ pass",
        Users = [(User, UserPassword)],
    })
    {
        public const string User = "alice";
        public const string UserPassword = "wonder-land";
    }
}

// The suites above run with the default Herald:Redis:Subscribe=interest (topic channels subscribed per wanted topic,
// commit markers); the two below hold the other mode to the same contract.

/// <summary>The whole Redis contract with <c>Herald:Redis:Subscribe=all</c>: every node subscribes to every topic's events.</summary>
public sealed class AllRedisBusContractTests : RedisBusContractTests
{
    protected override void Configure(RedisOptions options, RedisServerFixture redis)
    {
        base.Configure(options, redis);
        options.Subscribe = "all";
    }
}

/// <summary>The whole Redis contract with <c>Herald:Redis:Subscribe=all</c> over sharded channels.</summary>
public sealed class ShardedAllRedisBusContractTests : RedisBusContractTests
{
    protected override void Configure(RedisOptions options, RedisServerFixture redis)
    {
        base.Configure(options, redis);
        options.ChannelMode = "sharded";
        options.ShardChannels = 4;
        options.Subscribe = "all";
    }
}
