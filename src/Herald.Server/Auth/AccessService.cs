using System.Security.Cryptography;
using System.Text;
using Herald.Protocol;
using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Diagnostics;
using Herald.Server.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Server.Auth;

/// <summary>
/// The one place that decides who a request is and what it may reach, for every endpoint and transport
/// (REST, SSE, WebSocket, long-poll). Credentials, in order: <c>Authorization: Bearer</c> or <c>?token=</c>
/// (operator JWT, or on the generic topic endpoints an app user's token), <c>X-Api-Key</c> (service),
/// <c>?assistant_id=&amp;guest_id=</c> (guest widget).
/// </summary>
public sealed class AccessService(TokenService tokens, AppTokenService appTokens, AccessCache cache, WidgetTokenService widgetTokens, ReservedTopics reservedTopics,
    IOptions<HeraldOptions> options, HeraldMetrics metrics)
{
    private const int MaxGuestIdLength = 128;

    private readonly byte[][] _apiKeys = options.Value.Auth.ApiKeys.Where(k => k.Length > 0).Select(Encoding.UTF8.GetBytes).ToArray();
    private readonly bool _serviceChatRead = options.Value.Auth.ServiceChatRead;

    /// <summary>
    /// Checks the access settings at start: <c>Herald:Auth:ServiceChatRead</c> opens chat to service keys, so it
    /// must name a deployment that has them.
    /// </summary>
    public static void ValidateOptions(AuthOptions auth)
    {
        if (auth.ServiceChatRead && !auth.ApiKeys.Any(k => k.Length > 0))
        {
            throw new InvalidOperationException(
                "Herald:Auth:ServiceChatRead is true but Herald:Auth:ApiKeys is empty: set the service keys that may read chat, or leave ServiceChatRead off.");
        }
    }

    /// <summary>
    /// Resolves an operator (JWT) or, when <paramref name="allowService"/>, a service (API key), or, when
    /// <paramref name="allowAppUser"/>, an app user (a token signed with a <c>Herald:AppTokens</c> key).
    /// </summary>
    public async ValueTask<(Principal? Principal, ApiError? Error)> AuthenticateOperatorAsync(HttpContext context, bool allowService = false, bool allowAppUser = false)
    {
        if (allowService && context.Request.Headers.TryGetValue("X-Api-Key", out var key))
        {
            return MatchesApiKey(key.ToString())
                ? (new ServicePrincipal("api-key"), null)
                : (null, Fail("bad api key", "The API key is not valid."));
        }

        var token = BearerToken(context);
        if (token is null)
        {
            return (null, Fail("missing token", "Send an operator token: 'Authorization: Bearer <jwt>' or '?token=<jwt>'."));
        }

        var (principal, failure) = await ValidateTokenAsync(token, allowAppUser);
        return principal is not null ? (principal, null) : (null, Fail(failure!, TokenRefusal(token, failure!, allowAppUser)));
    }

    /// <summary>
    /// Validates a bearer token: an operator's, or, when <paramref name="allowAppUser"/> and the token is meant for
    /// the app key ring (<see cref="AppTokenService.Claims"/>), an app user's. Used again when a stream presents a
    /// fresh token.
    /// </summary>
    public async ValueTask<(Principal? Principal, string? Failure)> ValidateTokenAsync(string token, bool allowAppUser)
    {
        if (allowAppUser && appTokens.Claims(token))
        {
            var (user, userFailure) = await appTokens.ValidateAsync(token);
            return (user, userFailure);
        }

        var (principal, failure) = await tokens.ValidateAsync(token);
        return (principal, failure);
    }

    private string TokenRefusal(string token, string failure, bool allowAppUser) => allowAppUser && appTokens.Claims(token)
        ? $"The app token is not valid ({failure}); ask the application's backend for a fresh one."
        : $"The operator token is not valid ({failure}); log in again.";

    /// <summary>Resolves the caller of a dialog endpoint: an operator, or a widget (site token or guest) when the query names one.</summary>
    public async ValueTask<(Principal? Principal, ApiError? Error)> AuthenticateAsync(HttpContext context)
    {
        if (BearerToken(context) is null && IsWidgetRequest(context.Request))
        {
            return await AuthenticateWidgetAsync(context);
        }

        return await AuthenticateOperatorAsync(context);
    }

    /// <summary>Resolves a widget visitor: by site token when one is sent, else by assistant_id + guest_id.</summary>
    public async ValueTask<(Principal? Principal, ApiError? Error)> AuthenticateWidgetAsync(HttpContext context)
    {
        if (SiteToken(context.Request) is not null)
        {
            return await AuthenticateSiteAsync(context);
        }

        var (guest, error) = await AuthenticateGuestAsync(context);
        return (guest, error);
    }

    /// <summary>True when the request carries widget credentials rather than an operator's.</summary>
    public static bool IsWidgetRequest(HttpRequest request) =>
        request.Query.ContainsKey("assistant_id") || request.Query.ContainsKey("guest_id") || SiteToken(request) is not null;

    /// <summary>True when a dialog endpoint resolves this request as a widget (see <see cref="AuthenticateAsync"/>).</summary>
    public static bool UsesWidgetCredentials(HttpRequest request) => BearerToken(request) is null && IsWidgetRequest(request);

    /// <summary>True when the request presents an operator token or an API key (valid or not).</summary>
    public static bool HasOperatorOrServiceCredential(HttpRequest request) =>
        request.Headers.ContainsKey("X-Api-Key") || BearerToken(request) is not null;

    /// <summary>
    /// May <paramref name="principal"/> read <paramref name="topics"/> through the generic hub (<c>/api/events</c>,
    /// <c>/api/poll</c>)? Operators read everything; a service key reads no reserved (chat) topic unless
    /// <c>Herald:Auth:ServiceChatRead</c> is set: a service is a backend for generic topics, not a chat reader.
    /// </summary>
    public ApiError? AuthorizeTopicRead(Principal principal, IReadOnlyList<string> topics)
    {
        if (principal is AppUserPrincipal user)
        {
            return AuthorizeAppUser(topics, user.Subscribe, "subscribing to");
        }

        var reserved = topics.FirstOrDefault(t => !MayReadTopic(principal, t));
        if (reserved is null)
        {
            return null;
        }

        metrics.AuthFailures.Add(1, "reason", "reserved topic");
        // The topic passed ProtocolNames.IsValidTopic: safe to name in the detail.
        return ApiError.Forbidden($"'{reserved}' is a reserved chat topic: service keys (X-Api-Key) may not read chat "
            + "unless the deployment sets Herald:Auth:ServiceChatRead=true.");
    }

    /// <summary>The rule of <see cref="AuthorizeTopicRead"/> for one topic, without an answer (for filtering a listing).</summary>
    public bool MayReadTopic(Principal principal, string topic) => MayReadChat(principal) || !reservedTopics.IsReserved(topic);

    /// <summary>Operators read chat; a service key only where <c>Herald:Auth:ServiceChatRead</c> allows it; an app user never.</summary>
    public bool MayReadChat(Principal principal) => principal switch
    {
        AppUserPrincipal => false, // an app user reads only what its token grants, never chat
        ServicePrincipal => _serviceChatRead,
        _ => true,
    };

    /// <summary>
    /// May <paramref name="principal"/> publish to <paramref name="topic"/> through <c>POST /api/publish</c>? Never to
    /// a reserved topic, operators included: chat events come only from the chat API, which stores the message they
    /// announce. An app user only to a topic its token's <c>publish</c> grant names.
    /// </summary>
    public ApiError? AuthorizeTopicPublish(Principal principal, string topic)
    {
        if (principal is AppUserPrincipal user)
        {
            return AuthorizeAppUser([topic], user.Publish, "publishing to");
        }

        if (!reservedTopics.IsReserved(topic))
        {
            return null;
        }

        metrics.AuthFailures.Add(1, "reason", "reserved topic");
        return ApiError.Forbidden($"'{topic}' is a reserved chat topic: its events come only from the chat API, which stores each message "
            + "(POST /api/dialogs/{id}/messages); publish to a topic outside the reserved namespaces.");
    }

    // Reserved topics first: no grant, exact or pattern, reaches them. Topics passed ProtocolNames.IsValidTopic, so
    // they are safe to name in the detail.
    private ApiError? AuthorizeAppUser(IReadOnlyList<string> topics, TopicGrant grant, string action)
    {
        if (topics.FirstOrDefault(reservedTopics.IsReserved) is { } reserved)
        {
            metrics.AuthFailures.Add(1, "reason", "reserved topic");
            return ApiError.Forbidden($"'{reserved}' is a reserved chat topic: app tokens never reach it, whatever they grant.");
        }

        if (topics.FirstOrDefault(t => !grant.Allows(t)) is { } refused)
        {
            metrics.AuthFailures.Add(1, "reason", "topic not granted");
            return ApiError.Forbidden($"The app token does not grant {action} '{refused}'.");
        }

        return null;
    }

    public static string? SiteToken(HttpRequest request)
    {
        var token = request.Query["site_token"].ToString();
        if (token.Length == 0)
        {
            token = request.Headers["X-Site-Token"].ToString();
        }

        return token.Length > 0 ? token : null;
    }

    /// <summary>
    /// Resolves a site widget from <c>site_token</c> (seed 001's <c>/ws/site/...</c> and the widget endpoints).
    /// </summary>
    /// <remarks>
    /// The token must be valid and the request's <c>Origin</c> (or <c>Referer</c>) must be one of its domains;
    /// the visitor is then the guest named by <c>guest_id</c> under the token's assistant. Failures are 403 with
    /// seed 000's reason in the detail ("domain not allowed", "domains changed", "revoked", "invalid token").
    /// </remarks>
    public async ValueTask<(Principal? Principal, ApiError? Error)> AuthenticateSiteAsync(HttpContext context)
    {
        var token = SiteToken(context.Request);
        if (token is null)
        {
            return (null, Fail("missing site token", "Send '?site_token=<widget token>'."));
        }

        var (sent, origin) = RequestOrigin.Read(context.Request);
        if (origin is null)
        {
            metrics.AuthFailures.Add(1, "reason", sent ? "domain not allowed" : "no origin");
            return (null, ApiError.Forbidden(sent
                ? "Site token refused: domain not allowed (the Origin is not an http(s) origin)."
                : "A site token is only valid with the Origin (or Referer) of an allowed domain."));
        }

        var check = await widgetTokens.ValidateAsync(token, origin.Domain, context.RequestAborted);
        if (!check.Valid)
        {
            metrics.AuthFailures.Add(1, "reason", check.Reason!);
            return (null, ApiError.Forbidden($"Site token refused: {check.Reason}."));
        }

        var (guestId, guestError) = ReadGuestId(context.Request);
        if (guestError is not null)
        {
            return (null, guestError);
        }

        var identityError = VerifyIdentity(context.Request, check.Assistant!, guestId!);
        return identityError is not null
            ? (null, identityError)
            : (new GuestPrincipal(check.Assistant!.Id, guestId!) { SiteTokenId = check.Token!.Id, IdentifierHash = PresentedHash(context.Request) }, null);
    }

    /// <summary>Resolves a guest from <c>assistant_id</c> + <c>guest_id</c>.</summary>
    public async ValueTask<(GuestPrincipal? Principal, ApiError? Error)> AuthenticateGuestAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var (assistantId, idError) = RequestReader.ParseId(query["assistant_id"], "assistant_id");
        if (idError is not null)
        {
            metrics.AuthFailures.Add(1, "reason", "bad assistant_id");
            return (null, idError);
        }

        var (guestId, guestError) = ReadGuestId(context.Request);
        if (guestError is not null)
        {
            return (null, guestError);
        }

        var assistant = await cache.GetAssistantAsync(assistantId, context.RequestAborted);
        if (assistant is null)
        {
            // Same answer as a foreign dialog: a visitor learns nothing by probing assistant ids.
            return (null, Fail("unknown assistant", "This assistant does not accept this guest."));
        }

        // A browser on a foreign site sends its Origin: refuse it unless the assistant allows that domain
        // (or it is Herald's own origin, e.g. the demo page). Non-browser clients send no Origin. An Origin that
        // is not an http(s) origin (null from a sandboxed frame or file://, an extension's, garbage) is never allowed.
        var (sent, origin) = RequestOrigin.Read(context.Request);
        if (sent && (origin is null || (!IsSameOrigin(context.Request, origin.Domain)
            && !DomainRules.Matches(origin.Domain, DomainRules.Parse(assistant.AllowedDomains), widgetTokens.AllowLocalhost))))
        {
            metrics.AuthFailures.Add(1, "reason", "domain not allowed");
            return (null, ApiError.Forbidden("domain not allowed: this assistant does not allow widgets on this site."));
        }

        var identityError = VerifyIdentity(context.Request, assistant, guestId!);
        return identityError is not null
            ? (null, identityError)
            : (new GuestPrincipal(assistantId, guestId!)
            {
                AdmittedDomain = origin is not null && !IsSameOrigin(context.Request, origin.Domain) ? origin.Domain : null,
                IdentifierHash = PresentedHash(context.Request),
            }, null);
    }

    /// <summary>Is <paramref name="domain"/> this server's own host (a page Herald serves itself)?</summary>
    public static bool IsSameOrigin(HttpRequest request, string domain) =>
        string.Equals(request.Host.Value, domain, StringComparison.OrdinalIgnoreCase);

    private (string? GuestId, ApiError? Error) ReadGuestId(HttpRequest request)
    {
        var guestId = request.Query["guest_id"].ToString();
        if (IsValidGuestId(guestId))
        {
            return (guestId, null);
        }

        metrics.AuthFailures.Add(1, "reason", "bad guest_id");
        return (null, ApiError.BadRequest(guestId.Length == 0 ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
            $"'guest_id' is required: 1-{MaxGuestIdLength} characters of letters, digits, '-', '_' and '.'."));
    }

    // Verified identities: the site's backend signs the visitor id, identifier_hash = hex(HMAC-SHA256(secret, guest_id)).
    private ApiError? VerifyIdentity(HttpRequest request, AssistantRecord assistant, string guestId)
    {
        var presented = request.Query["identifier_hash"].ToString();
        if (IsVerifiedIdentity(assistant, guestId, presented))
        {
            return null;
        }

        return Fail(presented.Length == 0 ? "unverified identity" : "bad identifier_hash",
            "This assistant requires a verified identity: send identifier_hash = HMAC-SHA256(guest_id) from your backend.");
    }

    /// <summary>Does <paramref name="presented"/> satisfy the assistant's identity rule for <paramref name="guestId"/>? (Always, when the rule is off.)</summary>
    public static bool IsVerifiedIdentity(AssistantRecord assistant, string guestId, string? presented)
    {
        if (assistant.RequireVerifiedIdentity == 0)
        {
            return true;
        }

        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(assistant.IdentitySecret ?? ""), Encoding.UTF8.GetBytes(guestId)));
        return presented is not null && presented.Length == expected.Length
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented.ToLowerInvariant()), Encoding.ASCII.GetBytes(expected));
    }

    // Kept for the re-check of open streams even when the rule is off, so that switching it on spares signed visitors.
    private static string? PresentedHash(HttpRequest request) =>
        request.Query["identifier_hash"].ToString() is { Length: > 0 } hash ? hash : null;

    /// <summary>
    /// Authorises access to one dialog. Operators see every dialog (404 when it does not exist); a guest sees
    /// only the dialog it created, and gets the same 403 for a foreign and for a missing dialog, so dialog ids
    /// cannot be enumerated.
    /// </summary>
    public async ValueTask<(DialogOwner? Dialog, ApiError? Error)> AuthorizeDialogAsync(Principal principal, long dialogId, CancellationToken ct)
    {
        var dialog = await cache.GetDialogOwnerAsync(dialogId, ct);
        switch (principal)
        {
            case OperatorPrincipal:
                return dialog is null ? (null, ApiError.NotFound($"Dialog {dialogId} does not exist.")) : (dialog, null);
            case GuestPrincipal guest when dialog is not null && dialog.AssistantId == guest.AssistantId && dialog.GuestId == guest.GuestId:
                return (dialog, null);
            default:
                metrics.AuthFailures.Add(1, "reason", "foreign dialog");
                return (null, ApiError.Forbidden("This dialog is not accessible with these credentials."));
        }
    }

    /// <summary>Guest ids: 1-128 characters of <c>A-Z a-z 0-9 - _ .</c> (UUIDs and the widget's own ids fit).</summary>
    public static bool IsValidGuestId(string guestId)
    {
        if (guestId.Length is 0 or > MaxGuestIdLength)
        {
            return false;
        }

        foreach (var c in guestId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static string? BearerToken(HttpContext context) => BearerToken(context.Request);

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var value = header["Bearer ".Length..].Trim();
            return value.Length > 0 ? value : null;
        }

        var query = request.Query["token"].ToString();
        return query.Length > 0 ? query : null;
    }

    private bool MatchesApiKey(string presented)
    {
        var bytes = Encoding.UTF8.GetBytes(presented);
        var match = false;
        foreach (var key in _apiKeys)
        {
            // Constant time per key, and every key is compared: timing reveals nothing about which matched.
            match |= CryptographicOperations.FixedTimeEquals(bytes, key);
        }

        return match;
    }

    private ApiError Fail(string reason, string detail)
    {
        metrics.AuthFailures.Add(1, "reason", reason);
        return ApiError.Unauthorized(detail);
    }
}
