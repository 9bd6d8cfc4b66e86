using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Herald.Server.Auth;

/// <summary>
/// Turns an app token into an <see cref="AppUserPrincipal"/>: the <see cref="TokenKeyRing"/> of
/// <c>Herald:AppTokens</c> verifies it, then this reads <c>sub</c> and the <c>herald</c> claim
/// (<c>{"subscribe":[...],"publish":[...]}</c>; docs/apps.md says why this shape).
/// </summary>
public sealed class AppTokenService
{
    /// <summary>The claim that holds the grants, namespaced like Mercure's <c>mercure</c> so an app's other claims never collide.</summary>
    public const string GrantClaim = "herald";

    /// <summary>Longest <c>sub</c>: it is copied into every event the user publishes.</summary>
    public const int MaxSubjectLength = 128;

    // As TokenService's: a reconnect storm re-presents the same tokens, and each full check costs a signature.
    private const int MaxValidatedTokens = 10_000;

    private readonly TokenKeyRing _ring;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, AppUserPrincipal> _validated = new(StringComparer.Ordinal);

    public AppTokenService(IOptions<HeraldOptions> options, TimeProvider time)
    {
        _ring = TokenKeyRing.Load(options.Value.AppTokens, "Herald:AppTokens", options.Value.Auth.SigningKey);
        _time = time;
    }

    /// <summary>True when the deployment configures app keys.</summary>
    public bool IsEnabled => _ring.IsEnabled;

    /// <summary>
    /// Is <paramref name="token"/> meant for the app ring rather than the operators' key? Operator tokens carry the
    /// <c>kid</c> <see cref="TokenKeyRing.OperatorKeyId"/>, which no app key may take: the header alone decides, so
    /// each token is checked against one set of keys and fails with that set's reason.
    /// </summary>
    public bool Claims(string token)
    {
        if (!_ring.IsEnabled || token.Length > TokenKeyRing.MaxTokenLength)
        {
            return false;
        }

        try
        {
            return new JsonWebToken(token).Kid != TokenKeyRing.OperatorKeyId;
        }
        catch (Exception ex) when (ex is ArgumentException or Microsoft.IdentityModel.Tokens.SecurityTokenMalformedException)
        {
            return false;
        }
    }

    /// <summary>Verifies the token and reads its user and grants; on failure, the reason (<c>token expired</c>, <c>bad signature</c>, ...).</summary>
    public async Task<(AppUserPrincipal? Principal, string? Failure)> ValidateAsync(string token)
    {
        if (_validated.TryGetValue(token, out var known))
        {
            if (_time.GetUtcNow() < known.Expires)
            {
                return (known, null);
            }

            _validated.TryRemove(token, out _);
        }

        var verification = await _ring.VerifyAsync(token).ConfigureAwait(false);
        if (!verification.IsValid)
        {
            return (null, verification.Failure);
        }

        var (principal, failure) = Read(verification.Token!);
        if (principal is not null)
        {
            _validated.SetBounded(token, principal, MaxValidatedTokens);
        }

        return (principal, failure);
    }

    private static (AppUserPrincipal? Principal, string? Failure) Read(JsonWebToken jwt)
    {
        var subject = jwt.Subject;
        if (string.IsNullOrEmpty(subject) || subject.Length > MaxSubjectLength || subject.Any(char.IsControl))
        {
            return (null, $"'sub' is required: 1-{MaxSubjectLength} printable characters");
        }

        if (!jwt.TryGetPayloadValue<JsonElement>(GrantClaim, out var grant) || grant.ValueKind != JsonValueKind.Object)
        {
            return (null, $"the '{GrantClaim}' claim is required: {{\"subscribe\":[topics], \"publish\":[topics]}}");
        }

        var (subscribe, subscribeError) = ReadGrant(grant, "subscribe");
        var (publish, publishError) = ReadGrant(grant, "publish");
        if ((subscribeError ?? publishError) is { } error)
        {
            return (null, error);
        }

        return (new AppUserPrincipal(subject, subscribe!, publish!, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero)), null);
    }

    private static (TopicGrant? Grant, string? Error) ReadGrant(JsonElement grant, string name) =>
        grant.TryGetProperty(name, out var list) ? TopicGrant.Parse(list, $"{GrantClaim}.{name}") : (TopicGrant.None, null);
}
