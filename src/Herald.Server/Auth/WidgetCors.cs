using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>
/// CORS for widget requests only. A widget request (one carrying <c>site_token</c> or <c>assistant_id</c>) from
/// a browser gets <c>Access-Control-Allow-Origin</c> for its origin when that origin is allowed — by the site
/// token's domains, or by the assistant's domains in guest mode (plus localhost in Development).
/// Operator endpoints never answer CORS: a console must be served from Herald's own origin or a proxy.
/// </summary>
public sealed class WidgetCors(RequestDelegate next)
{
    private const string AllowedHeaders = "Content-Type, Last-Event-ID, X-Site-Token";

    // Not async itself: a stream lives inside this call for hours, and an awaiting middleware keeps its state
    // machine alive for all that time. Requests without CORS business pass straight through.
    public Task InvokeAsync(HttpContext context, WidgetTokenService tokens, AccessCache cache)
    {
        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        return origin.Length == 0 || !IsWidgetPath(request) ? next(context) : InvokeCorsAsync(context, origin, tokens, cache);
    }

    private async Task InvokeCorsAsync(HttpContext context, string origin, WidgetTokenService tokens, AccessCache cache)
    {
        var request = context.Request;
        var allowed = await IsAllowedAsync(request, tokens, cache, context.RequestAborted);
        if (allowed)
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.Vary = "Origin";
        }

        if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method"))
        {
            if (!allowed)
            {
                await ApiError.Forbidden("domain not allowed: this origin may not use this widget.").ExecuteAsync(context);
                return;
            }

            var headers = context.Response.Headers;
            headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            headers.AccessControlAllowHeaders = AllowedHeaders;
            headers.AccessControlMaxAge = "600";
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await next(context);
    }

    private static bool IsWidgetPath(HttpRequest request)
    {
        var path = request.Path;
        if (path.StartsWithSegments("/api/validate-widget-token"))
        {
            return true;
        }

        return (path.StartsWithSegments("/api/widget") || path.StartsWithSegments("/api/dialogs"))
            && AccessService.IsWidgetRequest(request) && request.Query["token"].Count == 0;
    }

    private static async Task<bool> IsAllowedAsync(HttpRequest request, WidgetTokenService tokens, AccessCache cache, CancellationToken ct)
    {
        var domain = DomainRules.RequestDomain(request);
        if (domain is null)
        {
            return false;
        }

        if (request.Path.StartsWithSegments("/api/validate-widget-token") || AccessService.IsSameOrigin(request, domain))
        {
            return true;
        }

        if (AccessService.SiteToken(request) is { } token)
        {
            return (await tokens.ValidateAsync(token, domain, ct)).Valid;
        }

        if (long.TryParse(request.Query["assistant_id"], out var assistantId) && assistantId > 0
            && await cache.GetAssistantAsync(assistantId, ct) is { } assistant)
        {
            return DomainRules.Matches(domain, DomainRules.Parse(assistant.AllowedDomains), tokens.AllowLocalhost);
        }

        return false;
    }
}
