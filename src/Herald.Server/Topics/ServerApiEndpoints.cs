using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Hub;

namespace Herald.Server.Topics;

/// <summary>
/// What an app's backend asks the gateway about and of its connections (Centrifugo's server API): who is on a topic,
/// which topics have subscribers, how many connections each node holds, and disconnecting a user on every node.
/// Operators and service keys only; a service key sees no reserved (chat) topic unless
/// <c>Herald:Auth:ServiceChatRead</c> is set, as for reading. Publishing to many topics is <c>POST /api/broadcast</c>
/// (<see cref="HubEndpoints"/>).
/// </summary>
public static class ServerApiEndpoints
{
    /// <summary>Default and largest number of entries one presence or topic listing returns.</summary>
    public const int DefaultLimit = 1000;

    public const int MaxLimit = 10_000;

    public static IEndpointRouteBuilder MapServerApiEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Server API").RequireOperator(allowService: true);
        // Presence and nodes are answers about every node: with Redis away there is none to give (503, not a 500).
        api.AddEndpointFilter(static async (invocation, next) =>
        {
            try
            {
                return await next(invocation);
            }
            catch (Backplane.BackplaneUnavailableException)
            {
                return ApiError.BackplaneUnavailable();
            }
        });
        api.MapGet("/topics/{topic}/presence", PresenceAsync).Produces<PresenceResponse>()
            .WithSummary("Who is connected to a topic on every node: subjects (kind, id) with their connection counts (operator or X-Api-Key).");
        api.MapGet("/topics", TopicsAsync).Produces<TopicsResponse>().WithQuery(new ApiQuery("prefix", "Only topics starting with this."), ApiDocs.Limit)
            .WithSummary("Topics with subscribers on every node and their connection counts: ?prefix=room:&limit=1000 (operator or X-Api-Key).");
        api.MapGet("/nodes", NodesAsync).Produces<NodesResponse>().WithSummary("Every live node and its connection counts, by transport (operator or X-Api-Key).");
        api.MapPost("/disconnect", DisconnectAsync).WithJsonBody<DisconnectRequest>().Produces<DisconnectResponse>(StatusCodes.Status202Accepted)
            .WithSummary("Disconnect a subject's connections on every node: {kind, id[, topic]} (operator or X-Api-Key).");
        return app;
    }

    private static async Task<IResult> PresenceAsync(HttpContext context, string topic, PresenceService presence, AccessService access)
    {
        if (!ProtocolNames.IsValidTopic(topic))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "Topics are 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.");
        }

        if (ParseLimit(context.Request) is not { } limit)
        {
            return LimitError();
        }

        if (access.AuthorizeTopicRead(context.Caller(), [topic]) is { } refused)
        {
            return refused;
        }

        var subjects = await presence.TopicAsync(topic, context.RequestAborted);
        var listed = subjects.OrderBy(s => s.Key, StringComparer.Ordinal).Take(limit)
            .Select(s => (Subject: PresenceSubject.FromKey(s.Key), Connections: s.Value))
            .Select(e => new PresenceEntry(e.Subject.Kind, e.Subject.Id, e.Connections))
            .ToList();
        return TypedResults.Json(new PresenceResponse(topic, subjects.Count, subjects.Values.Sum(), listed, subjects.Count > limit), HeraldJson.Options);
    }

    private static async Task<IResult> TopicsAsync(HttpContext context, PresenceService presence, AccessService access)
    {
        var prefix = context.Request.Query["prefix"].ToString();
        if (prefix.Length > 0 && !ProtocolNames.IsValidTopic(prefix))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'prefix' is the start of a topic name: letters, digits, '_', '-', '.', ':', '@'.");
        }

        if (ParseLimit(context.Request) is not { } limit)
        {
            return LimitError();
        }

        var caller = context.Caller();
        var topics = (await presence.TopicsAsync(context.RequestAborted))
            .Where(t => t.Value > 0 && t.Key.StartsWith(prefix, StringComparison.Ordinal) && access.MayReadTopic(caller, t.Key))
            .OrderBy(t => t.Key, StringComparer.Ordinal)
            .ToList();
        return TypedResults.Json(new TopicsResponse([.. topics.Take(limit).Select(t => new TopicEntry(t.Key, t.Value))], topics.Count > limit), HeraldJson.Options);
    }

    private static async Task<IResult> NodesAsync(HttpContext context, PresenceService presence)
    {
        var nodes = await presence.NodesAsync(context.RequestAborted);
        return TypedResults.Json(new NodesResponse([.. nodes.Select(n => new NodeEntry(n.NodeId, n.NodeId == presence.NodeId,
            n.Counts.GetValueOrDefault("connections"),
            n.Counts.Where(c => c.Key != "connections").ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal)))]), HeraldJson.Options);
    }

    private static async Task<IResult> DisconnectAsync(HttpContext context, RequestReader reader, PresenceService presence, AccessService access)
    {
        var (body, error) = await reader.ReadJsonAsync<DisconnectRequest>(context);
        if (error is not null)
        {
            return error;
        }

        if (string.IsNullOrEmpty(body!.Kind) || !PresenceSubject.Kinds.Contains(body.Kind, StringComparer.Ordinal))
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(body.Kind) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                $"'kind' is required: one of {string.Join(", ", PresenceSubject.Kinds)}.");
        }

        if (string.IsNullOrEmpty(body.Id) || body.Id.Length > 256 || body.Id.Any(char.IsControl))
        {
            return ApiError.BadRequest(string.IsNullOrEmpty(body.Id) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                "'id' is required: the subject's id within its kind (1-256 characters, no control characters).");
        }

        if (body.Topic is not null && !ProtocolNames.IsValidTopic(body.Topic))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'topic' is optional; when given, 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.");
        }

        // Whoever may not read chat may not end chat streams either: a reserved topic, an operator's or a visitor's connections.
        var caller = context.Caller();
        if (body.Topic is not null && access.AuthorizeTopicRead(caller, [body.Topic]) is { } refused)
        {
            return refused;
        }

        if (body.Kind is "operator" or "guest" && !access.MayReadChat(caller))
        {
            return ApiError.Forbidden($"Disconnecting a '{body.Kind}' ends chat streams: service keys (X-Api-Key) may do it only where "
                + "the deployment sets Herald:Auth:ServiceChatRead=true.");
        }

        var closed = await presence.DisconnectAsync(new PresenceSubject(body.Kind, body.Id), body.Topic, caller.Kind, context.RequestAborted);
        return TypedResults.Json(new DisconnectResponse(body.Kind, body.Id, body.Topic, closed), HeraldJson.Options, statusCode: StatusCodes.Status202Accepted);
    }

    private static int? ParseLimit(HttpRequest request)
    {
        var raw = request.Query["limit"].ToString();
        if (raw.Length == 0)
        {
            return DefaultLimit;
        }

        return int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= MaxLimit
            ? limit
            : null;
    }

    private static ApiError LimitError() => ApiError.BadRequest(ErrorCodes.InvalidField, $"'limit' is a whole number from 1 to {MaxLimit}.");

    private sealed record PresenceEntry(string Kind, string Id, long Connections);

    private sealed record PresenceResponse(string Topic, int SubjectCount, long Connections, IReadOnlyList<PresenceEntry> Subjects, bool Truncated);

    private sealed record TopicEntry(string Topic, long Connections);

    private sealed record TopicsResponse(IReadOnlyList<TopicEntry> Topics, bool Truncated);

    private sealed record NodeEntry(string Node, bool Self, long Connections, IReadOnlyDictionary<string, long> ByTransport);

    private sealed record NodesResponse(IReadOnlyList<NodeEntry> Nodes);

    private sealed record DisconnectRequest(string? Kind, string? Id, string? Topic);

    private sealed record DisconnectResponse(string Kind, string Id, string? Topic, int ClosedOnThisNode);
}
