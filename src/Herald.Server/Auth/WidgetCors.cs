using Herald.Protocol.Web;
using Herald.Server.Api;
using Microsoft.Extensions.Options;

namespace Herald.Server.Auth;

/// <summary>
/// CORS for the API, decided by the endpoint a request is for (its path), never by its query. Two kinds of
/// browser callers on other origins get it:
/// <list type="bullet">
/// <item>widgets, on the endpoints that take widget credentials (<see cref="IsWidgetEndpoint"/>), for an origin the
/// site token's (or, in guest mode, the assistant's) domains allow, plus localhost in Development;</item>
/// <item>operator apps (a console served from another origin, seed 000's admin on :3000) on every <c>/api</c>
/// endpoint, for an origin listed in <c>Herald:Cors:OperatorOrigins</c>.</item>
/// </list>
/// Every other origin gets no CORS headers, and its preflight a 403. The echoed origin is always the parsed
/// <see cref="WebOrigin.Serialized"/>, never the request's header.
/// </summary>
public sealed class WidgetCors(RequestDelegate next, IOptions<HeraldOptions> options)
{
    private const string WidgetHeaders = "Content-Type, Last-Event-ID, X-Site-Token";
    private const string OperatorHeaders = "Authorization, Content-Type, Last-Event-ID";
    private const string WidgetMethods = "GET, POST, OPTIONS";
    private const string OperatorMethods = "GET, POST, PUT, OPTIONS";

    private static readonly string[] DialogResources = ["messages", "typing", "events", "poll", "availability", "visitor"];

    private readonly HashSet<string> _operatorOrigins = ParseOperatorOrigins(options.Value.Cors.OperatorOrigins);

    /// <summary>
    /// Validates <c>Herald:Cors:OperatorOrigins</c> at start: each entry an exact http(s) origin, never <c>*</c>.
    /// </summary>
    public static HashSet<string> ParseOperatorOrigins(IEnumerable<string?> origins)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in origins)
        {
            var origin = WebOrigin.TryParse(entry?.Trim());
            if (origin is null)
            {
                throw new InvalidOperationException(
                    $"Herald:Cors:OperatorOrigins: '{entry}' is not an origin; list each operator app as scheme://host[:port] (http or https, no path, no '*').");
            }

            result.Add(origin.Serialized);
        }

        return result;
    }

    // Not async itself: a stream lives inside this call for hours, and an awaiting middleware keeps its state
    // machine alive for all that time. Requests without CORS business pass straight through.
    public Task InvokeAsync(HttpContext context, WidgetTokenService tokens, AccessCache cache)
    {
        var request = context.Request;
        var header = request.Headers.Origin;
        if (header.Count == 0 || !request.Path.StartsWithSegments("/api"))
        {
            return next(context);
        }

        var origin = WebOrigin.TryParse(header.ToString());
        if (origin is not null && _operatorOrigins.Contains(origin.Serialized))
        {
            return Allow(context, origin, OperatorMethods, OperatorHeaders);
        }

        return origin is not null && IsWidgetEndpoint(request.Path)
            ? InvokeWidgetAsync(context, origin, tokens, cache)
            : Refuse(context);
    }

    /// <summary>
    /// The endpoints that take widget credentials (site token or assistant_id + guest_id): the widget's own, the
    /// dialog endpoints a guest may use, and token validation. Not the dialog list or mark-read (operators only).
    /// </summary>
    public static bool IsWidgetEndpoint(PathString path)
    {
        if (path.StartsWithSegments("/api/validate-widget-token", out var rest))
        {
            return !rest.HasValue;
        }

        if (path.StartsWithSegments("/api/widget/dialogs", out rest))
        {
            return !rest.HasValue || IsDialogResource(rest);
        }

        return path.StartsWithSegments("/api/dialogs", out rest) && rest.HasValue && IsDialogResource(rest);
    }

    // "/{id}" or "/{id}/messages|typing|events|poll|visitor".
    private static bool IsDialogResource(PathString rest)
    {
        var value = rest.Value.AsSpan(1);
        var slash = value.IndexOf('/');
        if (slash < 0)
        {
            return !value.IsEmpty;
        }

        if (slash == 0)
        {
            return false;
        }

        var resource = value[(slash + 1)..];
        foreach (var name in DialogResources)
        {
            if (resource.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private async Task InvokeWidgetAsync(HttpContext context, WebOrigin origin, WidgetTokenService tokens, AccessCache cache)
    {
        if (await IsAllowedWidgetAsync(context.Request, origin, tokens, cache, context.RequestAborted))
        {
            await Allow(context, origin, WidgetMethods, WidgetHeaders);
        }
        else
        {
            await Refuse(context);
        }
    }

    private Task Allow(HttpContext context, WebOrigin origin, string methods, string allowedHeaders)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin.Serialized;
        headers.Vary = "Origin";
        if (!IsPreflight(context.Request))
        {
            return next(context);
        }

        headers.AccessControlAllowMethods = methods;
        headers.AccessControlAllowHeaders = allowedHeaders;
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    // An actual request goes on without CORS headers (the browser withholds the answer; the endpoint applies its
    // own origin rules); a preflight is answered here.
    private Task Refuse(HttpContext context) =>
        IsPreflight(context.Request)
            ? ApiError.Forbidden("origin not allowed: this origin may not call this endpoint from a browser.").ExecuteAsync(context)
            : next(context);

    private static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method");

    private static async Task<bool> IsAllowedWidgetAsync(HttpRequest request, WebOrigin origin, WidgetTokenService tokens, AccessCache cache, CancellationToken ct)
    {
        if (request.Path.StartsWithSegments("/api/validate-widget-token") || AccessService.IsSameOrigin(request, origin.Domain))
        {
            return true;
        }

        // An operator's credential on a dialog endpoint is not a widget request: only OperatorOrigins open CORS for it.
        if (!AccessService.UsesWidgetCredentials(request))
        {
            return false;
        }

        if (AccessService.SiteToken(request) is { } token)
        {
            return (await tokens.ValidateAsync(token, origin.Domain, ct)).Valid;
        }

        if (long.TryParse(request.Query["assistant_id"], out var assistantId) && assistantId > 0
            && await cache.GetAssistantAsync(assistantId, ct) is { } assistant)
        {
            return DomainRules.Matches(origin.Domain, DomainRules.Parse(assistant.AllowedDomains), tokens.AllowLocalhost);
        }

        return false;
    }
}
