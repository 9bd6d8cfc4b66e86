using Herald.Protocol;
using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>
/// Widget tokens and the assistant settings that govern widgets (seed 000): issue, list, revoke, rotate,
/// validate; edit an assistant's domains and its verified-identity requirement. All operator-only except
/// <c>POST /api/validate-widget-token</c>, which a widget may call about itself.
/// </summary>
public static class WidgetEndpoints
{
    public static IEndpointRouteBuilder MapWidgetEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Widgets").RequireOperator();
        api.MapPost("/widgets", CreateAsync).WithJsonBody<CreateWidgetRequest>().Produces<IssuedToken>(StatusCodes.Status201Created).WithSummary("Issue a widget token {assistant_id, allowed_domains?} (operator).");
        api.MapGet("/widgets", ListAsync).Produces<IReadOnlyList<TokenDto>>().WithQuery(new ApiQuery("assistant_id", "Only this assistant's tokens.")).WithSummary("List widget tokens (hints only) (operator).");
        api.MapPost("/widgets/{id}/revoke", RevokeAsync).Produces<TokenDto>().WithSummary("Revoke a widget token (operator).");
        api.MapPost("/widgets/{id}/rotate", RotateAsync).Produces<IssuedToken>(StatusCodes.Status201Created).WithSummary("Revoke a token and issue a new one with the same domains (operator).");
        api.MapPut("/assistants/{id}/domains", SetDomainsAsync).WithJsonBody<DomainsRequest>().Produces<AssistantDto>().WithSummary("Replace an assistant's allowed domains; older tokens become 'domains changed' (operator).");
        api.MapPut("/assistants/{id}/identity", SetIdentityAsync).WithJsonBody<IdentityRequest>().Produces<IdentitySettings>().WithSummary("Require verified identities (identifier_hash) and get the HMAC secret (operator).");

        // Public: a widget may ask about its own token.
        app.MapPost("/api/validate-widget-token", ValidateAsync).WithJsonBody<ValidateRequest>().Produces<WidgetTokenValidation>().WithTags("Widgets").WithSummary("{token, domain} → {valid, assistant_id} or {valid:false, reason}.");
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, RequestReader reader, EventHub hub, WidgetTokenService tokens)
    {
        var (body, bodyError) = await reader.ReadJsonAsync<CreateWidgetRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (body!.AssistantId is not > 0)
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'assistant_id' is required (a positive integer).");
        }

        IReadOnlyList<string>? domains = null;
        if (body.AllowedDomains is not null)
        {
            (domains, var domainError) = DomainRules.Normalize(body.AllowedDomains);
            if (domainError is not null)
            {
                return ApiError.BadRequest(ErrorCodes.InvalidField, domainError);
            }
        }

        return await IssueAsync(context, hub, tokens, body.AssistantId.Value, domains, context.CallerOperatorId());
    }

    private static async Task<IResult> IssueAsync(HttpContext context, EventHub hub, WidgetTokenService tokens, long assistantId, IReadOnlyList<string>? domains, long? operatorId)
    {
        var plain = WidgetTokenService.NewToken();
        try
        {
            var record = await hub.ExecuteAsync(new CreateWidgetTokenCommand(assistantId, domains, operatorId, plain), context.RequestAborted);
            tokens.Invalidate();
            return TypedResults.Json(new IssuedToken(plain, record.Id, record.AssistantId, DomainRules.Parse(record.AllowedDomains)),
                HeraldJson.Options, statusCode: StatusCodes.Status201Created);
        }
        catch (StoreValidationException ex) when (ex.Code == ErrorCodes.NotFound)
        {
            return ApiError.NotFound(ex.Message);
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context, SqlStore store)
    {
        long? assistantId = null;
        if (context.Request.Query.ContainsKey("assistant_id"))
        {
            var (id, idError) = RequestReader.ParseId(context.Request.Query["assistant_id"], "assistant_id");
            if (idError is not null)
            {
                return idError;
            }

            assistantId = id;
        }

        var list = await store.ListWidgetTokensAsync(assistantId, context.RequestAborted);
        return TypedResults.Json(list.Select(TokenDto.From), HeraldJson.Options);
    }

    private static async Task<IResult> RevokeAsync(HttpContext context, string id, EventHub hub, WidgetTokenService tokens)
    {
        var (tokenId, idError) = RequestReader.ParseId(id, "id");
        if (idError is not null)
        {
            return idError;
        }

        var revoked = await hub.ExecuteAsync(new RevokeWidgetTokenCommand(tokenId), context.RequestAborted);
        tokens.Invalidate();
        return revoked is null ? ApiError.NotFound($"Widget token {tokenId} does not exist.") : TypedResults.Json(TokenDto.From(revoked), HeraldJson.Options);
    }

    private static async Task<IResult> RotateAsync(HttpContext context, string id, EventHub hub, WidgetTokenService tokens)
    {
        var (tokenId, idError) = RequestReader.ParseId(id, "id");
        if (idError is not null)
        {
            return idError;
        }

        var old = await hub.ExecuteAsync(new RevokeWidgetTokenCommand(tokenId), context.RequestAborted);
        if (old is null)
        {
            return ApiError.NotFound($"Widget token {tokenId} does not exist.");
        }

        return await IssueAsync(context, hub, tokens, old.AssistantId, DomainRules.Parse(old.AllowedDomains), context.CallerOperatorId());
    }

    private static async Task<IResult> ValidateAsync(HttpContext context, RequestReader reader, WidgetTokenService tokens)
    {
        var (body, error) = await reader.ReadJsonAsync<ValidateRequest>(context);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrEmpty(body!.Token))
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'token' is required.");
        }

        var domain = string.IsNullOrWhiteSpace(body.Domain) ? null : body.Domain.Trim().ToLowerInvariant();
        if (domain is not null && DomainRules.Normalize([domain]).Error is not null)
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'domain' must be host or host:port, e.g. \"localhost:3000\".");
        }

        var check = await tokens.ValidateAsync(body.Token, domain, context.RequestAborted);
        return check.Valid
            ? TypedResults.Json(new WidgetTokenValidation(true, check.Assistant!.Id, null), HeraldJson.Options)
            : TypedResults.Json(new WidgetTokenValidation(false, null, check.Reason), HeraldJson.Options);
    }

    private static async Task<IResult> SetDomainsAsync(HttpContext context, string id, RequestReader reader, EventHub hub, AccessCache cache)
    {
        var (assistantId, idError) = RequestReader.ParseId(id, "id");
        if (idError is not null)
        {
            return idError;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<DomainsRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (body!.AllowedDomains is null)
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'allowed_domains' is required (an array, may be empty).");
        }

        var (domains, domainError) = DomainRules.Normalize(body.AllowedDomains);
        if (domainError is not null)
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, domainError);
        }

        var updated = await hub.ExecuteAsync(new SetAssistantDomainsCommand(assistantId, domains!), context.RequestAborted);
        cache.InvalidateAssistant(assistantId);
        return updated is null ? ApiError.NotFound($"Assistant {assistantId} does not exist.") : TypedResults.Json(AssistantDto.From(updated), HeraldJson.Options);
    }

    private static async Task<IResult> SetIdentityAsync(HttpContext context, string id, RequestReader reader, EventHub hub, AccessCache cache)
    {
        var (assistantId, idError) = RequestReader.ParseId(id, "id");
        if (idError is not null)
        {
            return idError;
        }

        var (body, bodyError) = await reader.ReadJsonAsync<IdentityRequest>(context);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (body!.RequireVerifiedIdentity is not { } required)
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'require_verified_identity' is required (true or false).");
        }

        var updated = await hub.ExecuteAsync(new SetIdentityVerificationCommand(assistantId, required), context.RequestAborted);
        cache.InvalidateAssistant(assistantId);
        return updated is null
            ? ApiError.NotFound($"Assistant {assistantId} does not exist.")
            : TypedResults.Json(new IdentitySettings(updated.Id, updated.RequireVerifiedIdentity != 0, required ? updated.IdentitySecret : null), HeraldJson.Options);
    }

    private sealed record CreateWidgetRequest(long? AssistantId, string?[]? AllowedDomains);

    private sealed record ValidateRequest(string? Token, string? Domain);

    private sealed record DomainsRequest(string?[]? AllowedDomains);

    private sealed record IdentityRequest(bool? RequireVerifiedIdentity);

    private sealed record IssuedToken(string Token, long Id, long AssistantId, IReadOnlyList<string> AllowedDomains);

    private sealed record WidgetTokenValidation(bool Valid, long? AssistantId, string? Reason);

    private sealed record IdentitySettings(long AssistantId, bool RequireVerifiedIdentity, string? IdentitySecret);

    private sealed record TokenDto(long Id, long AssistantId, string TokenHint, IReadOnlyList<string> AllowedDomains, string CreatedAt, bool Revoked)
    {
        public static TokenDto From(WidgetTokenRecord t) =>
            new(t.Id, t.AssistantId, t.TokenHint, DomainRules.Parse(t.AllowedDomains), HeraldJson.FormatTime(t.CreatedAt), t.RevokedAt is not null);
    }
}
