using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Herald.Server.Api;

/// <summary>How an endpoint authenticates, as OpenAPI security scheme names (any one of them suffices).</summary>
public sealed record ApiSecurity(params string[] Schemes);

/// <summary>
/// The JSON body the handler reads with <see cref="RequestReader"/>. Not <c>.Accepts&lt;T&gt;()</c>: its metadata also
/// steers routing, which would answer a wrong Content-Type with a bare 415 before the handler's <c>{"error","detail"}</c>.
/// </summary>
public sealed record ApiBody(Type Type);

/// <summary>A query parameter the handler reads from <c>HttpRequest.Query</c> itself, so the generator cannot see it.</summary>
public sealed record ApiQuery(string Name, string Description, bool Required = false);

/// <summary>
/// Completes /openapi/v1.json for client generators: the handlers read bodies, query parameters and credentials by
/// hand (to answer bad input with <c>{"error","detail"}</c>), which the framework's generator cannot see. Endpoints
/// carry <see cref="ApiSecurity"/> and <see cref="ApiQuery"/> metadata; the error responses come from one table here.
/// Success answers are the framework's own <c>.Produces&lt;T&gt;(status)</c> on each route (a named record, so the
/// schema has a name), or <see cref="ProducesEventStream"/> and <see cref="ProducesWebSocket"/>; nothing here invents
/// a success answer, so a route without one shows none and <c>OpenApiResponseTests</c> fails.
/// </summary>
public static class ApiDocs
{
    public const string Operator = "operator";
    public const string ApiKey = "api_key";
    public const string AppToken = "app_token";
    public const string SiteToken = "site_token";
    public const string Guest = "guest";

    public static readonly ApiQuery AfterId = new("after_id", "Answer events after this id (a position from an earlier answer).");
    public static readonly ApiQuery Timeout = new("timeout", "Seconds to wait for an event, 0-30 (default 25).");
    public static readonly ApiQuery LastEventId = new("last_event_id", "Resume after this event id (as the Last-Event-ID header).");
    public static readonly ApiQuery Topic = new("topic", "A topic; repeat it or separate topics with commas.", Required: true);
    public static readonly ApiQuery Limit = new("limit", "The most items to answer.");

    private const string ErrorBodySchema = "ErrorBody";
    private const string Json = "application/json";

    public static TBuilder WithQuery<TBuilder>(this TBuilder builder, params ApiQuery[] parameters) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata([.. parameters]);

    public static RouteHandlerBuilder WithJsonBody<TBody>(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new ApiBody(typeof(TBody)));

    public static TBuilder WithSecurity<TBuilder>(this TBuilder builder, params string[] schemes) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiSecurity(schemes));

    /// <summary>A 200 <c>text/event-stream</c> answer: the SSE stream (docs/protocol.md describes its events).</summary>
    public static RouteHandlerBuilder ProducesEventStream(this RouteHandlerBuilder builder) =>
        builder.Produces<string>(StatusCodes.Status200OK, EventStream);

    /// <summary>A 101 upgrade to a WebSocket; whatever goes wrong after it is a documented close code, not a status.</summary>
    public static TBuilder ProducesWebSocket<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status101SwitchingProtocols, typeof(void)));

    public const string EventStream = "text/event-stream";

    public static IServiceCollection AddHeraldOpenApi(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options => HeraldJson.Apply(options.SerializerOptions)).AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                AddComponents(document);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ApiBody>().LastOrDefault() is { } body)
                {
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken) } },
                    };
                }

                Describe(operation, context);
            });
        });

    private static void AddComponents(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ErrorBodySchema] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "Every HTTP error answer: a stable code (docs/protocol.md lists them) and a human-readable detail.",
            Required = new HashSet<string> { "error", "detail" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["error"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        var schemes = document.Components.SecuritySchemes;
        schemes[Operator] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT", Description = "An operator JWT from POST /api/auth/login (also ?token= where a header cannot be sent)." };
        schemes[AppToken] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT", Description = "An app token signed by your backend, granting topics." };
        schemes[ApiKey] = new OpenApiSecurityScheme { Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = "X-Api-Key", Description = "The server-to-server API key." };
        schemes[SiteToken] = new OpenApiSecurityScheme { Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Query, Name = "site_token", Description = "A widget site token (or the X-Site-Token header), with guest_id." };
        schemes[Guest] = new OpenApiSecurityScheme { Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Query, Name = "guest_id", Description = "A guest: ?assistant_id=&guest_id= (and identifier_hash when the assistant requires verified identities)." };
    }

    private static void Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        foreach (var query in metadata.OfType<ApiQuery>())
        {
            operation.Parameters ??= [];
            if (operation.Parameters.All(p => p.Name != query.Name || p.In != ParameterLocation.Query))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = query.Name, In = ParameterLocation.Query, Required = query.Required, Description = query.Description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }

        // The innermost declaration wins: an endpoint may narrow its group's schemes.
        var security = metadata.OfType<ApiSecurity>().LastOrDefault();
        if (security is not null)
        {
            operation.Security = [.. security.Schemes.Select(s => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(s, context.Document)] = [] })];
        }

        operation.Responses ??= [];
        var path = context.Description.RelativePath ?? "";
        foreach (var (status, description, applies) in ErrorResponses)
        {
            if (applies(operation, security, path) && !operation.Responses.ContainsKey(status))
            {
                operation.Responses[status] = new OpenApiResponse
                {
                    Description = description,
                    Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = new OpenApiSchemaReference(ErrorBodySchema, context.Document) } },
                };
            }
        }
    }

    // Which error answers an operation can give, from what it takes: input can be invalid, a credential refused, an id unknown.
    private static readonly (string Status, string Description, Func<OpenApiOperation, ApiSecurity?, string, bool> Applies)[] ErrorResponses =
    [
        ("400", "Invalid input (invalid_json, missing_field, invalid_field, text_too_long).", (o, _, p) => o.RequestBody is not null || o.Parameters is { Count: > 0 } || p.Contains('{')),
        ("401", "No credential, or a malformed, expired or wrongly signed one (unauthorized).", (_, s, _) => s is not null),
        ("403", "The credential does not grant this resource (forbidden).", (_, s, _) => s is not null),
        ("404", "No such resource (not_found).", (_, _, p) => p.Contains('{')),
        ("413", "The body is larger than the configured limit (payload_too_large).", (o, _, _) => o.RequestBody is not null),
        ("415", "The body is not application/json (unsupported_media_type).", (o, _, _) => o.RequestBody is not null),
        ("429", "A rate limit was hit; see Retry-After (rate_limited).", (_, s, _) => s is not null),
        ("500", "An unexpected server error (internal_error); the detail never carries internals.", (_, _, _) => true),
    ];
}
