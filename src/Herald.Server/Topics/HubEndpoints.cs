using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Pipeline;
using Herald.Server.Transports;

namespace Herald.Server.Topics;

/// <summary>
/// The generic hub for non-chat uses (seed 003: notifications, progress, dashboards): publish to any topic,
/// subscribe to several topics on one SSE stream. The chat topics are reserved (<see cref="Auth.ReservedTopics"/>):
/// nobody publishes to them here, and a service key reads them only where the deployment allows it.
/// </summary>
public static class HubEndpoints
{
    /// <summary>Most topics one stream may subscribe to.</summary>
    public const int MaxTopicsPerStream = 32;

    /// <summary>Most topics one <c>POST /api/broadcast</c> names: one transaction, one answer, bounded.</summary>
    public const int MaxTopicsPerBroadcast = 1000;

    public static IEndpointRouteBuilder MapHubEndpoints(this IEndpointRouteBuilder app)
    {
        // One publish delegate for every topic socket: a closure made per socket would be kept for the socket's life.
        var publisher = app.ServiceProvider.GetRequiredService<TopicPublisher>();
        WebSocketTransport.TopicPublish socketPublish = (clientKey, caller, frame, ct) => PublishFrameAsync(publisher, clientKey, caller, frame, ct);
        var api = app.MapGroup("/api").WithTags("Hub").RequireOperator(allowService: true, allowAppUser: true);
        api.MapPost("/publish", PublishAsync).WithJsonBody<PublishRequest>().Produces<PublishResponse>(StatusCodes.Status201Created).Produces<PublishResponse>(StatusCodes.Status202Accepted).WithSummary(
            "Publish {topic, event, data[, durable]} (operator, X-Api-Key, or an app token whose publish grant names the topic: data arrives as {sub, data}).");
        api.MapGet("/poll", PollAsync).Produces<PollResponse>().WithQuery(ApiDocs.Topic, ApiDocs.AfterId, ApiDocs.Timeout).WithSummary("Long-poll topics: /api/poll?topic=a&after_id=N&timeout=S (operator, X-Api-Key, or an app token granting the topics).");
        api.MapGet("/events", StreamAsync).ProducesEventStream().WithQuery(ApiDocs.Topic, ApiDocs.LastEventId).WithSummary("SSE stream of one or more topics: /api/events?topic=a&topic=b (operator, X-Api-Key, or an app token granting the topics).");
        app.MapGet("/ws/topics", (HttpContext context, WebSocketTransport sockets) => sockets.TopicSocketAsync(context, ParseTopics, socketPublish)).ProducesWebSocket().WithSecurity(ApiDocs.Operator, ApiDocs.ApiKey, ApiDocs.AppToken).WithQuery(ApiDocs.Topic, ApiDocs.LastEventId).WithTags("WebSocket").WithSummary(
            "WebSocket of one or more topics: /ws/topics?topic=a&topic=b&token=; frames ping, auth, publish (operator, X-Api-Key, or an app token).");

        // The server API: operators and service keys only, never an app user's token.
        var server = app.MapGroup("/api").WithTags("Hub").RequireOperator(allowService: true);
        server.MapPost("/broadcast", BroadcastAsync).WithJsonBody<BroadcastRequest>().Produces<BroadcastResponse>(StatusCodes.Status201Created).Produces<BroadcastResponse>(StatusCodes.Status202Accepted)
            .WithSummary("Publish one event to many topics: {topics: [...], event, data[, durable]} (operator or X-Api-Key).");
        return app;
    }

    private static async Task<IResult> PublishAsync(HttpContext context, RequestReader reader, TopicPublisher publisher)
    {
        var (body, error) = await reader.ReadJsonAsync<PublishRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var (published, refused) = await publisher.PublishAsync(RateLimits.ClientKey(context), context.Caller(), body!, context.RequestAborted);
        return refused ?? (IResult)TypedResults.Json(published, HeraldJson.Options,
            statusCode: published!.Id is null ? StatusCodes.Status202Accepted : StatusCodes.Status201Created);
    }

    // Centrifugo's "broadcast": one event, many topics, one call; durable ones are stored in one transaction.
    private static async Task<IResult> BroadcastAsync(HttpContext context, RequestReader reader, EventHub hub, TopicPublisher publisher)
    {
        var (body, error) = await reader.ReadJsonAsync<BroadcastRequest>(context);
        if (error is not null)
        {
            return error;
        }

        if (body!.Topics is not { Count: > 0 } topics)
        {
            return ApiError.BadRequest(ErrorCodes.MissingField, "'topics' is required: an array of 1 to " + MaxTopicsPerBroadcast + " topic names.");
        }

        if (topics.Count > MaxTopicsPerBroadcast)
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, $"At most {MaxTopicsPerBroadcast} topics per broadcast (got {topics.Count}).");
        }

        if (topics.Distinct(StringComparer.Ordinal).Count() != topics.Count)
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'topics' names a topic twice; each topic gets the event once.");
        }

        var caller = context.Caller();
        if (publisher.Validate(caller, topics, body.Event, body.Data) is { } invalid)
        {
            return invalid;
        }

        var payload = TopicPublisher.Payload(caller, body.Data!.Value);

        var eventName = body.Event ?? "message";
        if (body.Durable == false)
        {
            foreach (var topic in topics)
            {
                hub.PublishEphemeral(topic!, eventName, payload);
            }

            return TypedResults.Json(new BroadcastResponse(eventName, [.. topics.Select(t => new PublishResponse(null, t!, eventName))]),
                HeraldJson.Options, statusCode: StatusCodes.Status202Accepted);
        }

        var emitted = await hub.ExecuteAsync(new PublishManyCommand(topics!, eventName, payload), context.RequestAborted);
        return TypedResults.Json(new BroadcastResponse(eventName, [.. emitted.Select(e => new PublishResponse(e.Id, e.Topic, eventName))]),
            HeraldJson.Options, statusCode: StatusCodes.Status201Created);
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

    private static async Task<(long? EventId, string? ErrorCode, string? Detail)> PublishFrameAsync(TopicPublisher publisher, string clientKey, Principal caller, PublishFrame frame, CancellationToken cancellationToken)
    {
        var (published, error) = await publisher.PublishAsync(clientKey, caller, new PublishRequest(frame.Topic, frame.Event, frame.Data, frame.Durable), cancellationToken);
        return error is not null ? (null, error.Code, error.Detail) : (published!.Id, null, null);
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

    private sealed record BroadcastRequest(List<string?>? Topics, string? Event, JsonElement? Data, bool? Durable);

    private sealed record BroadcastResponse(string Event, IReadOnlyList<PublishResponse> Published);
}
