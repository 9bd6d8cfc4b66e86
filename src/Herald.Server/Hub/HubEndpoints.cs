using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Transports;

namespace Herald.Server.Hub;

/// <summary>
/// The generic hub for non-chat uses (seed 003: notifications, progress, dashboards): publish to any topic,
/// subscribe to several topics on one SSE stream. The chat topics are reserved (<see cref="ReservedTopics"/>):
/// nobody publishes to them here, and a service key reads them only where the deployment allows it.
/// </summary>
public static class HubEndpoints
{
    /// <summary>Most topics one stream may subscribe to.</summary>
    public const int MaxTopicsPerStream = 32;

    public static IEndpointRouteBuilder MapHubEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Hub").RequireOperator(allowService: true);
        api.MapPost("/publish", PublishAsync).WithSummary("Publish {topic, event, data[, durable]} (operator or X-Api-Key).");
        api.MapGet("/poll", PollAsync).WithSummary("Long-poll topics: /api/poll?topic=a&after_id=N&timeout=S (operator or X-Api-Key).");
        api.MapGet("/events", StreamAsync).WithSummary("SSE stream of one or more topics: /api/events?topic=a&topic=b (operator or X-Api-Key).");
        return app;
    }

    private static async Task<IResult> PublishAsync(HttpContext context, RequestReader reader, EventHub hub, AccessService access)
    {
        var (body, error) = await reader.ReadJsonAsync<PublishRequest>(context);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrEmpty(body!.Topic) || !ProtocolNames.IsValidTopic(body.Topic))
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(body.Topic) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                "'topic' is required: 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.");
        }

        if (access.AuthorizeTopicPublish(body.Topic) is { } reserved)
        {
            return reserved;
        }

        var eventName = body.Event ?? "message";
        if (!ProtocolNames.IsValidEventName(eventName))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'event' must be 1-64 characters of letters, digits, '_', '-', '.', ':'.");
        }

        if (body.Data is not { } data || data.ValueKind == JsonValueKind.Undefined)
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'data' is required (any JSON value).");
        }

        // Re-serialised compactly: the stored payload is canonical JSON with no raw line breaks.
        var payload = JsonSerializer.SerializeToUtf8Bytes(data, HeraldJson.Options);
        if (body.Durable == false)
        {
            hub.PublishEphemeral(body.Topic, eventName, payload);
            return TypedResults.Json(new PublishResponse(null, body.Topic, eventName), HeraldJson.Options, statusCode: StatusCodes.Status202Accepted);
        }

        var id = await hub.PublishDurableAsync(body.Topic, eventName, payload, context.RequestAborted);
        return TypedResults.Json(new PublishResponse(id, body.Topic, eventName), HeraldJson.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task StreamAsync(HttpContext context, SseTransport sse, AccessService access)
    {
        var (topics, error) = ParseReadableTopics(context, access);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }

        await sse.StreamAsync(context, new StreamRequest(topics!, SseTransport.ResumePosition(context.Request),
            $"topics {string.Join(",", topics!)} ({context.Caller().Kind})", context.Caller()));
    }

    private static async Task PollAsync(HttpContext context, LongPollTransport poll, AccessService access)
    {
        var (topics, error) = ParseReadableTopics(context, access);
        if (error is not null)
        {
            await error.ExecuteAsync(context);
            return;
        }

        await poll.PollAsync(context, topics!, $"topics {string.Join(",", topics!)} ({context.Caller().Kind})", context.Caller());
    }

    private static (IReadOnlyList<string>? Topics, ApiError? Error) ParseReadableTopics(HttpContext context, AccessService access)
    {
        var (topics, error) = ParseTopics(context.Request);
        return error is null && access.AuthorizeTopicRead(context.Caller(), topics!) is { } refused ? (null, refused) : (topics, error);
    }

    /// <summary>Reads <c>?topic=</c> (repeatable, or comma-separated) into a validated, distinct list.</summary>
    public static (IReadOnlyList<string>? Topics, ApiError? Error) ParseTopics(HttpRequest request)
    {
        var topics = request.Query["topic"]
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (topics.Count == 0)
        {
            return (null, ApiError.BadRequest(ErrorCodes.MissingField, "Name at least one topic: ?topic=a&topic=b."));
        }

        if (topics.Count > MaxTopicsPerStream)
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"At most {MaxTopicsPerStream} topics per stream."));
        }

        var invalid = topics.FirstOrDefault(t => !ProtocolNames.IsValidTopic(t));
        return invalid is not null
            ? (null, ApiError.BadRequest(ErrorCodes.InvalidField, "Topics are 1-128 characters of letters, digits, '_', '-', '.', ':', '@'."))
            : (topics, null);
    }

    private sealed record PublishRequest(string? Topic, string? Event, JsonElement? Data, bool? Durable);

    private sealed record PublishResponse(long? Id, string Topic, string Event);
}
