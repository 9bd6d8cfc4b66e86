using System.Threading.RateLimiting;
using Herald.Protocol;
using Herald.Server.Diagnostics;
using Microsoft.Extensions.Options;

namespace Herald.Server.Api;

/// <summary>
/// Per-client rate limits on the write endpoints: token buckets per IP and per guest for posting, per IP and per
/// assistant for opening dialogs, a fixed window per IP for logins. A refusal is 429 with <c>Retry-After</c> and
/// <c>{"error":"rate_limited"}</c>.
/// </summary>
public sealed class RateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _perIp;
    private readonly PartitionedRateLimiter<string>? _perGuest;
    private readonly PartitionedRateLimiter<string>? _logins;
    private readonly PartitionedRateLimiter<string>? _dialogsPerIp;
    private readonly PartitionedRateLimiter<string>? _dialogsPerAssistant;
    private readonly HeraldMetrics _metrics;

    public RateLimits(IOptions<HeraldOptions> options, HeraldMetrics metrics)
    {
        _metrics = metrics;
        var limits = options.Value.Limits;
        _perIp = Bucket(limits.MessagesPerIpPerSecond, limits.MessageBurstPerIp);
        _perGuest = Bucket(limits.MessagesPerGuestPerSecond, limits.MessageBurstPerGuest);
        _dialogsPerIp = Bucket(limits.DialogsPerIpPerMinute / 60, limits.DialogBurstPerIp);
        _dialogsPerAssistant = Bucket(limits.DialogsPerAssistantPerMinute / 60, limits.DialogBurstPerAssistant);
        if (limits.LoginsPerIpPerMinute > 0)
        {
            _logins = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = limits.LoginsPerIpPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
        }
    }

    /// <summary>Checks the posting limits; <paramref name="guestKey"/> is null for operators.</summary>
    public ApiError? TryPost(HttpContext context, string? guestKey) => TryPost(ClientKey(context), guestKey);

    /// <inheritdoc cref="TryPost(HttpContext, string?)"/>
    public ApiError? TryPost(string clientKey, string? guestKey) =>
        Acquire(_perIp, clientKey, "messages_per_ip") ?? (guestKey is null ? null : Acquire(_perGuest, guestKey, "messages_per_guest"));

    /// <summary>
    /// Checks the limits on opening a new dialog: per address, so one client cannot flood the operators' list, and per
    /// assistant, so many addresses together cannot either.
    /// </summary>
    public ApiError? TryOpenDialog(HttpContext context, long assistantId) =>
        Acquire(_dialogsPerIp, ClientKey(context), "dialogs_per_ip")
        ?? Acquire(_dialogsPerAssistant, assistantId.ToString(System.Globalization.CultureInfo.InvariantCulture), "dialogs_per_assistant");

    public ApiError? TryLogin(HttpContext context) => Acquire(_logins, ClientKey(context), "logins_per_ip");

    public static string ClientKey(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private ApiError? Acquire(PartitionedRateLimiter<string>? limiter, string key, string name)
    {
        if (limiter is null)
        {
            return null;
        }

        using var lease = limiter.AttemptAcquire(key);
        if (lease.IsAcquired)
        {
            return null;
        }

        _metrics.RateLimited.Add(1, "limit", name);
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
        return new ApiError(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, $"Too many requests ({name}); retry after {retry} s.") { RetryAfterSeconds = retry };
    }

    private static PartitionedRateLimiter<string>? Bucket(double perSecond, int burst)
    {
        if (perSecond <= 0)
        {
            return null;
        }

        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = Math.Max(1, (int)Math.Ceiling(perSecond / 10)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, (int)Math.Ceiling(perSecond / 10)) / perSecond),
            QueueLimit = 0,
            // The partitioned limiter replenishes every partition on its own timer (as RateLimitPartition.GetTokenBucketLimiter
            // sets it up), not one timer per limiter.
            AutoReplenishment = false,
        };
        // The partitioner runs on every acquire (every chat POST, twice): one factory made here. GetTokenBucketLimiter
        // made two delegates per call; each limiter copies the options it is made with.
        Func<string, RateLimiter> create = _ => new TokenBucketRateLimiter(options);
        return PartitionedRateLimiter.Create<string, string>(key => new RateLimitPartition<string>(key, create));
    }

    public void Dispose()
    {
        _perIp?.Dispose();
        _perGuest?.Dispose();
        _logins?.Dispose();
        _dialogsPerIp?.Dispose();
        _dialogsPerAssistant?.Dispose();
    }
}
