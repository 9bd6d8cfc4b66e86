using System.Globalization;
using System.Text;
using Herald.Server.Auth;
using Herald.Server.Operations;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hosting;

/// <summary>
/// Checks every <c>Herald:*</c> setting once, when the node starts (<c>ValidateOnStart</c>): a wrong value stops the
/// start with one line per problem that names the key, the rule and the value given, instead of a failure (or a
/// silently odd behaviour) at the first request that reads it. docs/deploy.md, "Configuration reference", lists the
/// same rules.
/// </summary>
/// <remarks>
/// Bounds are what the code can work with, wide enough for tests that use short intervals: a heartbeat under
/// 100 ms would be a busy loop across every connection, a zero retention interval makes the timer throw, a
/// negative limit has no meaning.
/// </remarks>
internal sealed class HeraldOptionsValidator(IHostEnvironment environment) : IValidateOptions<HeraldOptions>
{
    private static readonly TimeSpan Instant = TimeSpan.FromMilliseconds(100);
    private const int HourMs = 3_600_000;

    public ValidateOptionsResult Validate(string? name, HeraldOptions options)
    {
        List<string> failures = [];
        ValidateStorage(failures, options.Storage);

        var auth = options.Auth;
        SigningKey(failures, auth.SigningKey);
        if (string.IsNullOrWhiteSpace(auth.Issuer))
        {
            failures.Add("Herald:Auth:Issuer must not be empty");
        }

        Range(failures, "Auth:TokenLifetime", auth.TokenLifetime, TimeSpan.FromSeconds(1), TimeSpan.FromDays(365));
        // The rules of these two live with the code that applies them.
        Check(failures, () => AccessService.ValidateOptions(auth));
        Check(failures, () => WidgetCors.ParseOperatorOrigins(options.Cors.OperatorOrigins));
        Check(failures, () => TokenKeyRing.Load(options.AppTokens, "Herald:AppTokens", auth.SigningKey));
        Check(failures, () => Mercure.MercureTokens.ValidateOptions(options.Mercure, auth.SigningKey));

        var streams = options.Streams;
        Range(failures, "Streams:RetryMilliseconds", streams.RetryMilliseconds, 0, HourMs);
        Range(failures, "Streams:RetryJitterMilliseconds", streams.RetryJitterMilliseconds, 0, HourMs);
        Range(failures, "Streams:HeartbeatInterval", streams.HeartbeatInterval, Instant, TimeSpan.FromHours(1));
        Range(failures, "Streams:WriteTimeout", streams.WriteTimeout, Instant, TimeSpan.FromHours(1));
        Range(failures, "Streams:MaxQueuedEvents", streams.MaxQueuedEvents, 1, 1_000_000);
        Range(failures, "Streams:MaxQueuedBytes", streams.MaxQueuedBytes, 1024, 1 << 30);
        Range(failures, "Streams:MaxConnections", streams.MaxConnections, 1, 10_000_000);
        Range(failures, "Streams:AuthWarningLead", streams.AuthWarningLead, TimeSpan.Zero, TimeSpan.FromDays(1));
        Range(failures, "Streams:MaxReplayEvents", streams.MaxReplayEvents, 1, 10_000_000);

        Range(failures, "Chat:MaxMessageLength", options.Chat.MaxMessageLength, 1, 1_000_000);
        Range(failures, "Chat:MaxHistoryPage", options.Chat.MaxHistoryPage, 1, 100_000);

        ValidateRedis(failures, options.Redis);

        var limits = options.Limits;
        Range(failures, "Limits:MaxRequestBodyBytes", limits.MaxRequestBodyBytes, 1024, 1L << 30);
        Range(failures, "Limits:MaxConnectionsPerIp", limits.MaxConnectionsPerIp, 0, 10_000_000);
        // The rates and bursts are LimitsValidation's (Api/RateLimits.cs), next to the code that applies them.

        var shutdown = options.Shutdown;
        Range(failures, "Shutdown:DrainTimeout", shutdown.DrainTimeout, Instant, TimeSpan.FromHours(1));
        Range(failures, "Shutdown:ReconnectMinMilliseconds", shutdown.ReconnectMinMilliseconds, 0, HourMs);
        Range(failures, "Shutdown:ReconnectMaxMilliseconds", shutdown.ReconnectMaxMilliseconds, shutdown.ReconnectMinMilliseconds, HourMs);

        var presence = options.Presence;
        Range(failures, "Presence:Interval", presence.Interval, Instant, TimeSpan.FromMinutes(1));
        // A node is dead after Ttl without a refresh: two intervals, so one late refresh does not make its users vanish.
        Range(failures, "Presence:Ttl", presence.Ttl, presence.Interval * 2, TimeSpan.FromHours(1));
        Range(failures, "Presence:MaxListedSubjects", presence.MaxListedSubjects, 0, 1000);
        if (string.IsNullOrEmpty(presence.KeyPrefix))
        {
            failures.Add("Herald:Presence:KeyPrefix must not be empty");
        }

        Check(failures, () => Hub.TopicPatterns.Parse(presence.EventTopics, "Herald:Presence:EventTopics"));

        foreach (var entry in OperationsExtensions.ProxyEntries(options.Network.TrustedProxies))
        {
            if (!OperationsExtensions.TryParseProxy(entry, out _, out _))
            {
                failures.Add($"Herald:Network:TrustedProxies has '{entry}', which is neither an IP address nor a network such as 10.0.0.0/8");
            }
        }

        Range(failures, "Network:ForwardLimit", options.Network.ForwardLimit, 1, 100);
        if (!options.Metrics.Path.StartsWith('/'))
        {
            failures.Add($"Herald:Metrics:Path must start with '/' (got '{options.Metrics.Path}')");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // Runs after HeraldApp's PostConfigure, which puts the public development key in when Development has none.
    private void SigningKey(List<string> failures, string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            failures.Add("Herald:Auth:SigningKey is not set. Set it (at least 32 characters, the same on every node), e.g. Herald__Auth__SigningKey=...");
        }
        else if (key == TokenService.DevelopmentSigningKey && !environment.IsDevelopment())
        {
            failures.Add("Herald:Auth:SigningKey is the public development default; set a secret of your own outside Development");
        }
        else if (Encoding.UTF8.GetByteCount(key) < 32)
        {
            failures.Add("Herald:Auth:SigningKey must be at least 32 bytes long (HS256)");
        }
    }

    /// <summary>The storage rules alone: <c>herald users</c> opens the store without the rest of a node's settings.</summary>
    internal static void ValidateStorage(List<string> failures, StorageOptions storage)
    {
        if (storage.Provider.ToLowerInvariant() is not ("sqlite" or "postgres" or "postgresql"))
        {
            failures.Add($"Herald:Storage:Provider must be 'sqlite' or 'postgres' (got '{storage.Provider}')");
        }
        else if (storage.Provider.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(storage.ConnectionString))
        {
            failures.Add("Herald:Storage:ConnectionString must be set when Herald:Storage:Provider is 'postgres'");
        }

        if (string.IsNullOrWhiteSpace(storage.DataDirectory))
        {
            failures.Add("Herald:Storage:DataDirectory must not be empty");
        }

        Range(failures, "Storage:RetainEventsPerTopic", storage.RetainEventsPerTopic, 1, 100_000_000);
        Range(failures, "Storage:RetainEventsFor", storage.RetainEventsFor, TimeSpan.Zero, TimeSpan.FromDays(3650));
        Range(failures, "Storage:RetentionInterval", storage.RetentionInterval, Instant, TimeSpan.FromDays(1));
        Range(failures, "Storage:MaxWriteBatch", storage.MaxWriteBatch, 1, 10_000);
    }

    private static void ValidateRedis(List<string> failures, RedisOptions redis)
    {
        if (!string.IsNullOrWhiteSpace(redis.Url))
        {
            try
            {
                Backplane.RedisConfiguration.Parse(redis.Url);
            }
            catch (FormatException ex)
            {
                // The parser's message never quotes the value, which may hold a password.
                failures.Add($"Herald:Redis:Url is not a Redis URL: {ex.Message}");
            }
        }

        if (string.IsNullOrEmpty(redis.ChannelPrefix))
        {
            failures.Add("Herald:Redis:ChannelPrefix must not be empty");
        }

        if (Backplane.RedisChannels.ParseMode(redis.ChannelMode) is null)
        {
            failures.Add($"Herald:Redis:ChannelMode must be 'classic' or 'sharded' (got '{redis.ChannelMode}')");
        }

        Range(failures, "Redis:ShardChannels", redis.ShardChannels, 1, 1024);
        if (Backplane.RedisChannels.ParseSubscribe(redis.Subscribe) is null)
        {
            failures.Add($"Herald:Redis:Subscribe must be 'all' or 'interest' (got '{redis.Subscribe}')");
        }

        Range(failures, "Redis:InterestLinger", redis.InterestLinger, TimeSpan.Zero, TimeSpan.FromHours(1));
        // Well below the dispatcher's 25 ms reorder window: a marker later than that makes every other node read the ids from the store.
        Range(failures, "Redis:MarkerInterval", redis.MarkerInterval, TimeSpan.Zero, TimeSpan.FromMilliseconds(10));
        if (!string.IsNullOrWhiteSpace(redis.TlsCaFile))
        {
            try
            {
                using var authority = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(redis.TlsCaFile));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                failures.Add($"Herald:Redis:TlsCaFile must name a readable PEM certificate: {ex.Message}");
            }
        }
    }

    private static void Check(List<string> failures, Action check)
    {
        try
        {
            check();
        }
        catch (InvalidOperationException ex)
        {
            failures.Add(ex.Message.TrimEnd('.'));
        }
    }

    private static void Range(List<string> failures, string key, double value, double min, double max)
    {
        if (!(value >= min && value <= max))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"Herald:{key} must be between {min} and {max} (got {value})"));
        }
    }

    private static void Range(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"Herald:{key} must be between {Duration(min)} and {Duration(max)} (got {value:c})");
        }
    }

    private static string Duration(TimeSpan value) => value switch
    {
        { Ticks: 0 } => "0",
        { TotalDays: >= 1 } when value.TotalDays % 1 == 0 => $"{value.TotalDays:0} d",
        { TotalHours: >= 1 } when value.TotalHours % 1 == 0 => $"{value.TotalHours:0} h",
        { TotalSeconds: >= 1 } when value.TotalSeconds % 1 == 0 => $"{value.TotalSeconds:0} s",
        _ => $"{value.TotalMilliseconds:0} ms",
    };
}
