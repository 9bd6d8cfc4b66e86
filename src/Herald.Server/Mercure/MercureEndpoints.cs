using System.Globalization;
using Herald.Protocol;
using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Backplane;
using Herald.Server.Pipeline;
using Herald.Server.Transports;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Herald.Server.Mercure;

/// <summary>
/// The Mercure hub (draft-dunglas-mercure) at <c>/.well-known/mercure</c>: <c>GET</c> subscribes (an SSE stream through
/// Herald's own transport, heartbeats and replay), <c>POST</c> publishes (one stored event per update, fanned out by the
/// backplane like every Herald event). docs/mercure.md says what Symfony and API Platform apps change and what differs.
/// </summary>
public static class MercureEndpoints
{
    public const string Path = "/.well-known/mercure";

    private const string AllowedHeaders = "Authorization, Content-Type, Last-Event-ID, Cache-Control";

    public static IEndpointRouteBuilder MapMercureEndpoints(this IEndpointRouteBuilder app)
    {
        var hub = app.MapGroup(Path).WithTags("Mercure");
        hub.MapGet("", SubscribeAsync).ProducesEventStream().WithSummary("Subscribe (Mercure): ?topic= (0.x), ?match=, ?match_urlpattern=; Last-Event-ID or ?last_event_id=.");
        hub.MapPost("", PublishAsync).Produces<string>(StatusCodes.Status200OK, "text/plain").WithSummary("Publish (Mercure): a form with topic (repeatable), data, private, id, type, retry.");
        hub.MapMethods("", ["OPTIONS"], Preflight).ExcludeFromDescription();
        if (app.ServiceProvider.GetRequiredService<IOptions<HeraldOptions>>().Value.Mercure.Subscriptions)
        {
            // Off, these paths answer 404, as the reference hub's do without its `subscriptions` option.
            hub.MapGet("/subscriptions", SubscriptionsAsync)
                .WithSummary("Active subscriptions (Mercure), on every node: JSON-LD {@context, id, type: Subscriptions, lastEventID, subscriptions}.");
            hub.MapGet("/subscriptions/{**selectorAndSubscriber}", SubscriptionsAsync)
                .WithSummary("Active subscriptions of one selector (/subscriptions/{topic}) or one subscription (/subscriptions/{topic}/{subscriber}); URL-encoded IRIs.");
            hub.MapMethods("/subscriptions", ["OPTIONS"], Preflight).ExcludeFromDescription();
            hub.MapMethods("/subscriptions/{**selectorAndSubscriber}", ["OPTIONS"], Preflight).ExcludeFromDescription();
        }

        return app;
    }

    /// <summary>The hub's absolute URL as this request reached it: the base of relative topics and URL patterns.</summary>
    public static string HubUrl(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}{Path}";

    /// <summary>The hub's path as this request reached it: the start of subscription ids (and of their events' topics).</summary>
    public static string HubPath(HttpRequest request) => request.PathBase.ToUriComponent() + Path;

    private static async Task SubscribeAsync(HttpContext context, SseTransport sse, MercureTokens tokens, MercureHistory history,
        MercureSubscriptions subscriptions, IOptions<HeraldOptions> options, ILogger<MercureHub> logger)
    {
        var mercure = options.Value.Mercure;
        var request = context.Request;
        Decorate(context, mercure);
        var hubUrl = HubUrl(request);
        var (selectors, invalid) = ParseSelectors(request.Query, hubUrl, mercure.MaxSelectors);
        if (invalid is not null)
        {
            await invalid.ExecuteAsync(context);
            return;
        }

        MercureGrants? grants = null;
        if (tokens.Find(request) is { } token)
        {
            grants = await tokens.VerifyAsync(token, MercureRole.Subscriber, hubUrl);
            if (grants is null)
            {
                MercureLog.TokenRefused(logger, MercureRole.Subscriber, request.Method, RateLimits.ClientKey(context));
                await Challenge(context, StatusCodes.Status401Unauthorized, "invalid_token", "The token is not valid for this hub.");
                return;
            }
        }
        else if (!mercure.AllowAnonymous)
        {
            await Challenge(context, StatusCodes.Status401Unauthorized, null, "This hub needs a subscriber token (Authorization: Bearer, the cookie, or ?authorization=).");
            return;
        }

        var (after, answer) = await history.ResolveAsync(request, context.RequestAborted);
        if (answer is not null)
        {
            // 1.0 names the response field Mercure-Last-Event-ID; 0.x hubs (and its clients) used Last-Event-ID.
            context.Response.Headers["Mercure-Last-Event-ID"] = answer;
            context.Response.Headers["Last-Event-ID"] = answer;
        }

        // The label is logged: a count, never the selectors (they are the application's data).
        await sse.StreamAsync(context, new StreamRequest([MercureUpdate.HeraldTopic], after,
            string.Create(CultureInfo.InvariantCulture, $"mercure ({selectors!.Count} selectors)"),
            new MercurePrincipal(grants), new MercureView(selectors, grants, hubUrl, subscriptions, HubPath(request))));
    }

    /// <summary>
    /// The subscriptions API: <c>/subscriptions</c>, <c>/subscriptions/{topic}</c>, <c>/subscriptions/{topic}/{subscriber}</c>,
    /// each segment one URL-encoded string. Authorized as the draft says: a subscriber token one of whose subscribe
    /// selectors matches the requested path (its raw, encoded form, without the query), as it would match the topic of
    /// the same subscriptions' events. A selector nobody uses is an empty list, an unknown subscription a 404.
    /// </summary>
    private static async Task<IResult> SubscriptionsAsync(HttpContext context, MercureTokens tokens, MercureSubscriptions subscriptions,
        EventDispatcher dispatcher, IOptions<HeraldOptions> options, ILogger<MercureHub> logger)
    {
        var request = context.Request;
        Decorate(context, options.Value.Mercure);
        var hubUrl = HubUrl(request);
        var (path, segments, invalid) = SubscriptionPath(context);
        if (invalid is not null)
        {
            return invalid;
        }

        if (tokens.Find(request) is not { } token)
        {
            return new ChallengeResult(StatusCodes.Status401Unauthorized, null, "The subscriptions API needs a subscriber token (Authorization: Bearer, the cookie, or ?authorization=).");
        }

        if (await tokens.VerifyAsync(token, MercureRole.Subscriber, hubUrl) is not { } grants)
        {
            MercureLog.TokenRefused(logger, MercureRole.Subscriber, request.Method, RateLimits.ClientKey(context));
            return new ChallengeResult(StatusCodes.Status401Unauthorized, "invalid_token", "The token is not valid for this hub.");
        }

        if (!grants.CanSubscribe([path], hubUrl))
        {
            return new ChallengeResult(StatusCodes.Status403Forbidden, "insufficient_scope", $"The token's subscribe selectors do not match {path}.");
        }

        // Read before the list: an event after this position may already be in the list (applying it again is harmless),
        // none before it is missing from it.
        var last = dispatcher.LastDeliveredId;
        var lastEventId = last == 0 ? MercureHistory.Earliest : MercureUpdate.IdOf(last, null);
        List<MercureSubscription> all;
        try
        {
            all = await subscriptions.ListAsync(context.RequestAborted);
        }
        catch (BackplaneUnavailableException)
        {
            return ApiError.BackplaneUnavailable();
        }

        if (segments.Count == 2)
        {
            return all.Find(s => s.Topic == segments[0] && s.Subscriber == segments[1]) is { } one
                ? TypedResults.Text(one.ToJson(context: true, lastEventId), JsonLd)
                : ApiError.NotFound("No active subscription of this subscriber to this topic selector.");
        }

        var listed = segments.Count == 1 ? all.Where(s => s.Topic == segments[0]) : all;
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("@context", MercureSubscription.Context);
            json.WriteString("id", path);
            json.WriteString("type", "Subscriptions");
            json.WriteString("lastEventID", lastEventId);
            json.WriteStartArray("subscriptions");
            foreach (var subscription in listed.OrderBy(s => s.Id, StringComparer.Ordinal))
            {
                subscription.Write(json, context: false, lastEventId: null);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return TypedResults.Bytes(buffer.ToArray(), JsonLd);
    }

    /// <summary>
    /// The requested path as the client wrote it (Kestrel's <c>Path</c> has decoded all but <c>%2F</c>, which makes
    /// <c>%252F</c> and <c>%2F</c> one), and its segments after <c>/subscriptions</c>, each percent-decoded once
    /// (<c>+</c> is a space, as the reference hub reads them). Bad percent-encoding, bytes that are not UTF-8 and
    /// control characters are a 400; an empty segment or more than two a 404.
    /// </summary>
    internal static (string Path, IReadOnlyList<string> Segments, ApiError? Error) SubscriptionPath(HttpContext context)
    {
        var request = context.Request;
        var prefix = Path + "/subscriptions";
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        raw = query < 0 ? raw : raw[..query];
        var at = raw.IndexOf(prefix, StringComparison.Ordinal);
        var rest = at >= 0 ? raw[(at + prefix.Length)..] : request.Path.ToUriComponent()[prefix.Length..];
        var path = request.PathBase.ToUriComponent() + prefix + rest;
        if (rest.Length == 0)
        {
            return (path, [], null);
        }

        var parts = rest[1..].Split('/');
        if (rest[0] != '/' || parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            return (path, [], ApiError.NotFound("The subscriptions API is /subscriptions, /subscriptions/{topic} and /subscriptions/{topic}/{subscriber}, each segment URL-encoded."));
        }

        List<string> segments = [];
        foreach (var part in parts)
        {
            if (PercentDecode(part) is not { } value || value.Length == 0 || HasForbiddenCharacter(value))
            {
                return (path, [], ApiError.BadRequest(ErrorCodes.InvalidField,
                    "A segment of the subscriptions path is not a percent-encoded UTF-8 string without control characters."));
            }

            segments.Add(value);
        }

        return (path, segments, null);
    }

    // Strict: '%' takes exactly two hex digits, and the bytes must be UTF-8.
    private static string? PercentDecode(string segment)
    {
        var bytes = new List<byte>(segment.Length);
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '%')
            {
                if (i + 2 >= segment.Length || !Uri.IsHexDigit(segment[i + 1]) || !Uri.IsHexDigit(segment[i + 2]))
                {
                    return null;
                }

                bytes.Add((byte)((Uri.FromHex(segment[i + 1]) << 4) | Uri.FromHex(segment[i + 2])));
                i += 2;
            }
            else if (c == '+')
            {
                bytes.Add((byte)' ');
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        try
        {
            return StrictUtf8.GetString([.. bytes]);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private const string JsonLd = "application/ld+json";

    private static async Task<IResult> PublishAsync(HttpContext context, EventHub hub, MercureTokens tokens, IOptions<HeraldOptions> options,
        ILogger<MercureHub> logger)
    {
        var mercure = options.Value.Mercure;
        var request = context.Request;
        Decorate(context, mercure);
        var hubUrl = HubUrl(request);
        if (tokens.Find(request) is not { } token)
        {
            return new ChallengeResult(StatusCodes.Status401Unauthorized, null, "Publishing needs a publisher token (Authorization: Bearer).");
        }

        if (await tokens.VerifyAsync(token, MercureRole.Publisher, hubUrl) is not { } grants)
        {
            MercureLog.TokenRefused(logger, MercureRole.Publisher, request.Method, RateLimits.ClientKey(context));
            return new ChallengeResult(StatusCodes.Status401Unauthorized, "invalid_token", "The token is not valid for this hub.");
        }

        if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return new ApiError(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedMediaType,
                "A Mercure update is an application/x-www-form-urlencoded form.");
        }

        if (request.ContentLength > mercure.MaxUpdateBytes)
        {
            return TooLarge(mercure);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = Math.Min(size.MaxRequestBodySize ?? long.MaxValue, mercure.MaxUpdateBytes);
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new FormOptions { ValueLengthLimit = mercure.MaxUpdateBytes, ValueCountLimit = 1024 }, context.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException)
        {
            return TooLarge(mercure);
        }

        var (update, invalid) = ReadUpdate(form, hubUrl, mercure);
        if (invalid is not null)
        {
            return invalid;
        }

        if (!grants.CanPublish(update!.Topics, hubUrl))
        {
            MercureLog.PublishForbidden(logger, update.Topics.Count);
            return new ChallengeResult(StatusCodes.Status403Forbidden, "insufficient_scope", "The token does not grant publishing to every topic of this update.");
        }

        var payload = MercureUpdate.Encode(update.Topics, update.Data, update.Private, update.Type, update.Retry, update.Id);
        var pending = await hub.ExecuteAsync(new PublishUpdateCommand(payload, update.Id is null ? 0 : MercureUpdate.KeyOf(update.Id)), context.RequestAborted);
        MercureLog.Published(logger, pending.Id, update.Topics.Count, update.Private);
        return TypedResults.Text(MercureUpdate.IdOf(pending.Id, update.Id), "text/plain; charset=utf-8");
    }

    private static IResult Preflight(HttpContext context, IOptions<HeraldOptions> options)
    {
        if (!Decorate(context, options.Value.Mercure))
        {
            return new ApiError(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, "This origin is not in Herald:Mercure:CorsOrigins.");
        }

        context.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
        context.Response.Headers.AccessControlAllowHeaders = AllowedHeaders;
        context.Response.Headers.AccessControlMaxAge = "600";
        return TypedResults.NoContent();
    }

    /// <summary>
    /// The discovery <c>Link</c> header, and CORS for a listed origin (Mercure's <c>cors_origins</c>): the parsed origin
    /// echoed with credentials allowed, or <c>*</c> without credentials when the list has <c>*</c>. False when the
    /// request came from an origin the list does not hold.
    /// </summary>
    private static bool Decorate(HttpContext context, MercureOptions options)
    {
        var response = context.Response;
        response.Headers.Link = $"<{HubUrl(context.Request)}>; rel=\"mercure\"";
        if (context.Request.Headers.Origin.Count == 0)
        {
            return true;
        }

        response.Headers.Vary = "Origin";
        var origin = WebOrigin.TryParse(context.Request.Headers.Origin.ToString());
        if (origin is not null && options.CorsOrigins.Any(o => WebOrigin.TryParse(o)?.Serialized == origin.Serialized))
        {
            response.Headers.AccessControlAllowOrigin = origin.Serialized;
            response.Headers.AccessControlAllowCredentials = "true";
        }
        else if (options.CorsOrigins.Contains("*"))
        {
            response.Headers.AccessControlAllowOrigin = "*";
        }
        else
        {
            return false;
        }

        response.Headers.AccessControlExposeHeaders = "Mercure-Last-Event-ID, Last-Event-ID, Link";
        return true;
    }

    /// <summary>
    /// Reads <c>?topic=</c> (0.x: a topic or URI template), <c>?match=</c> and <c>?match_exact=</c> (exact),
    /// <c>?match_urlpattern=</c>. Any other name in the <c>match</c> namespace is refused (the draft: a misspelt matcher
    /// must fail loudly), as are values with control or format characters and more than the configured number.
    /// </summary>
    internal static (IReadOnlyList<TopicSelector>? Selectors, ApiError? Error) ParseSelectors(IQueryCollection query, string hubUrl, int max)
    {
        List<TopicSelector> selectors = [];
        foreach (var (name, values) in query)
        {
            SelectorKind kind;
            if (name == "topic")
            {
                kind = SelectorKind.UriTemplate;
            }
            else if (name is "match" or "match_exact")
            {
                kind = SelectorKind.Exact;
            }
            else if (name == "match_urlpattern")
            {
                kind = SelectorKind.UrlPattern;
            }
            else if (name.StartsWith("match", StringComparison.OrdinalIgnoreCase))
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidField,
                    "Unknown matcher parameter: use topic=, match=, match_exact= or match_urlpattern= (names are case-sensitive)."));
            }
            else
            {
                continue;
            }

            foreach (var value in values)
            {
                if (string.IsNullOrEmpty(value) || HasForbiddenCharacter(value))
                {
                    return (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"A '{name}' value is empty or holds a control or format character."));
                }

                if (selectors.Count == max)
                {
                    return (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"At most {max} selectors per subscription."));
                }

                try
                {
                    selectors.Add(TopicSelector.Parse(kind, value, hubUrl));
                }
                catch (FormatException ex)
                {
                    return (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"A '{name}' value is not a valid selector: {ex.Message}"));
                }
            }
        }

        return selectors.Count == 0
            ? (null, ApiError.BadRequest(ErrorCodes.MissingField, "Name at least one topic selector: ?topic=, ?match= or ?match_urlpattern=."))
            : (selectors, null);
    }

    // The draft's publish fields, each checked as it says; unknown fields are ignored (its extension rule).
    private static (FormUpdate? Update, ApiError? Error) ReadUpdate(IFormCollection form, string hubUrl, MercureOptions options)
    {
        var topics = form["topic"];
        if (topics.Count == 0)
        {
            return (null, ApiError.BadRequest(ErrorCodes.MissingField, "An update needs at least one 'topic' field."));
        }

        if (topics.Count > options.MaxTopicsPerUpdate)
        {
            return (null, new ApiError(StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge, $"At most {options.MaxTopicsPerUpdate} topics per update."));
        }

        foreach (var topic in topics)
        {
            if (string.IsNullOrEmpty(topic) || HasForbiddenCharacter(topic) || topic.Length > TopicSelector.MaxPatternLength)
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidField,
                    $"A 'topic' is 1-{TopicSelector.MaxPatternLength} characters without control or format characters."));
            }

            if (topic == "*" || IsHubNamespace(topic, hubUrl))
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidField,
                    $"A 'topic' may not be '*' (the wildcard) or name a path under {Path} (the hub's own namespace)."));
            }
        }

        var id = Single(form, "id");
        if (id is not null && (id.Length == 0 || id[0] == MercureUpdate.GeneratedIdPrefix || id == MercureHistory.Earliest || HasForbiddenCharacter(id) || id.Length > 1024))
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidField,
                "'id' must be 1-1024 characters, not start with '#', not be 'earliest', and hold no control or format character."));
        }

        var type = Single(form, "type");
        if (type is not null && (HasForbiddenCharacter(type) || type == MercureUpdate.EventType || type.Length > 256))
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidField, "'type' must hold no control or format character and not be 'mercure' (reserved for the hub)."));
        }

        long? retry = null;
        if (Single(form, "retry") is { } raw)
        {
            if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || raw.Length == 0)
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidField, "'retry' must be ASCII digits only."));
            }

            retry = ms;
        }

        var data = Single(form, "data");
        return (new FormUpdate([.. topics.Select(t => t!)], data, form.ContainsKey("private"), id, type is { Length: > 0 } ? type : null, retry), null);
    }

    private static string? Single(IFormCollection form, string name) => form.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    /// <summary>C0, DEL, C1 and Unicode format characters: the draft refuses them in topics, selectors, ids and types.</summary>
    internal static bool HasForbiddenCharacter(string value)
    {
        foreach (var c in value)
        {
            if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Does a topic, resolved against the hub's URL, name the hub's own path or one below it? Dot segments are removed
    /// and unreserved percent-escapes decoded first (so <c>/.well-known/%6Dercure/x</c> is caught); a topic that is no
    /// URL reference names no path.
    /// </summary>
    internal static bool IsHubNamespace(string topic, string hubUrl)
    {
        if (!Uri.TryCreate(hubUrl, UriKind.Absolute, out var hub) || !Uri.TryCreate(hub, topic, out var resolved))
        {
            return false;
        }

        var path = Uri.UnescapeDataString(resolved.AbsolutePath);
        var hubPath = hub.AbsolutePath;
        return path == hubPath || path.StartsWith(hubPath + "/", StringComparison.Ordinal);
    }

    private static IResult TooLarge(MercureOptions options) =>
        new ApiError(StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge, $"A Mercure update is at most {options.MaxUpdateBytes} bytes.");

    private static Task Challenge(HttpContext context, int status, string? error, string detail) =>
        new ChallengeResult(status, error, detail).ExecuteAsync(context);

    private sealed record FormUpdate(IReadOnlyList<string> Topics, string? Data, bool Private, string? Id, string? Type, long? Retry);

    /// <summary>
    /// A 401 or 403 as RFC 6750 wants it: a <c>WWW-Authenticate: Bearer</c> challenge carrying the OAuth error code
    /// (none when no token was presented), and Herald's <c>{"error","detail"}</c> body.
    /// </summary>
    private sealed class ChallengeResult(int status, string? error, string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.WWWAuthenticate = error is null ? "Bearer" : new StringValues($"Bearer error=\"{error}\"");
            var code = status == StatusCodes.Status403Forbidden ? ErrorCodes.Forbidden : ErrorCodes.Unauthorized;
            return new ApiError(status, code, detail).ExecuteAsync(httpContext);
        }
    }
}
