using Herald.Bench.Load;
using Herald.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Bench.Targets;

/// <summary>
/// Herald's Mercure hub (issue 20): the same Release build as <see cref="HeraldTarget"/>, started with
/// <c>Herald:Mercure:Enabled</c> and a random HS256 <c>JwtKey</c>, driven the way Symfony and an <c>EventSource</c>
/// page drive a Mercure hub. Subscribers <c>GET /.well-known/mercure?topic=IRI&amp;authorization=JWT</c>; publishers
/// <c>POST /.well-known/mercure</c> a form (<c>topic</c>, <c>data</c>) with <c>Authorization: Bearer</c> and a token
/// signed with the hub key and without <c>exp</c>, as Symfony's Mercure component signs it. Every channel is one topic
/// IRI, for S2's broadcast and S3's dialogs alike: Mercure has no chat, so S3 here is "many topics, steady rate".
/// </summary>
internal sealed class MercureTarget : IBenchTarget
{
    public const string TargetName = "herald-mercure";

    /// <summary>Channel <c>broadcast-0</c> is the topic <c>https://bench.herald.test/broadcast-0</c>.</summary>
    private const string TopicBase = "https://bench.herald.test/";

    private readonly string _subscriberToken;
    private readonly string _publisherToken;

    private MercureTarget(HeraldTarget herald, string key)
    {
        Herald = herald;
        var signing = AppTokenMinter.HsKey(key);
        // One subscriber token for every stream (as Herald's own rows use one operator token): 0.x `mercure` claim.
        _subscriberToken = Uri.EscapeDataString(Sign(signing, "subscribe"));
        _publisherToken = Sign(signing, "publish");
    }

    /// <summary>The Herald server behind the hub (its API for setup calls and <c>/metrics</c>).</summary>
    public HeraldTarget Herald { get; }

    public string Name => TargetName;

    public string Description => $"Herald's Mercure hub (/.well-known/mercure: SSE, form POST with an HS256 JWT; SQLite; {HeraldTarget.RuntimeSettings}; 15 s heartbeat)";

    public string Protocol => ConnectSpec.Sse;

    public ServerProcess Server => Herald.Server;

    public bool IsDotNet => true;

    /// <summary>
    /// Starts Herald with the hub on. With <c>--url</c> (a running server) the bench cannot set the key: the server's
    /// <c>Herald:Mercure:JwtKey</c> must then be given as <c>--mercure-key</c>.
    /// </summary>
    public static async Task<MercureTarget> StartAsync(BenchOptions options)
    {
        string key;
        if (options.String("url") is not null)
        {
            key = options.String("mercure-key") ?? throw new ArgumentException("--via mercure with --url needs --mercure-key (the server's Herald:Mercure:JwtKey).");
        }
        else
        {
            key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        }

        var herald = await HeraldTarget.StartAsync(options, ["--Herald:Mercure:Enabled=true", $"--Herald:Mercure:JwtKey={key}"]);
        return new MercureTarget(herald, key);
    }

    public Task WarmUpAsync() => Herald.WarmUpAsync();

    public Task<long?> ActiveConnectionsAsync() => Herald.ActiveConnectionsAsync();

    public Task<IBenchChannels> OpenChannelsAsync(ChannelSpec spec) =>
        Task.FromResult<IBenchChannels>(new HttpPublisher(Server.BaseAddress, spec,
            channel => $"/.well-known/mercure?topic={Uri.EscapeDataString(TopicBase + channel)}&authorization={_subscriberToken}",
            _ => "/.well-known/mercure",
            (channel, message) => new FormUrlEncodedContent([new("topic", TopicBase + channel), new("data", message)]),
            _publisherToken));

    public async ValueTask DisposeAsync() => await Herald.DisposeAsync();

    // Every topic ("*"), no exp: Symfony's MercureBundle signs its publisher tokens without one.
    private static string Sign(SecurityKey key, string action) =>
        AppTokenMinter.Sign(new Dictionary<string, object> { ["mercure"] = new Dictionary<string, object> { [action] = new[] { "*" } } },
            key, SecurityAlgorithms.HmacSha256, expires: null);
}
