using System.Text.Json.Serialization;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Herald.Server.Pipeline;

namespace Herald.Server.Operations;

/// <summary>
/// <c>/api/sse/health</c> and <c>/api/sse/stats</c>, in the shapes seed 000's runbook uses. Anyone sees the counts;
/// the live topic names (<c>by_topic</c>: which dialogs have viewers, whose <c>user:…</c> topics are open) only an
/// operator or a service key.
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/sse").WithTags("Diagnostics");
        api.MapGet("/health", (ConnectionTracker tracker, IEventBus bus, EventDispatcher dispatcher, StreamHost host) =>
        {
            var redis = bus.State;
            if (host.IsDraining)
            {
                // 503 takes a draining node out of any load balancer that checks health.
                return TypedResults.Json(new Health("shutting_down", tracker.Count, redis, dispatcher.LastDeliveredId), HeraldJson.Options,
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            // Degraded, not unhealthy: local delivery continues and other nodes' events are caught up from the store.
            var status = redis == "disconnected" ? "degraded" : "healthy";
            return TypedResults.Json(new Health(status, tracker.Count, redis, dispatcher.LastDeliveredId), HeraldJson.Options);
        }).Produces<Health>().Produces<Health>(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("{status, connections, redis}: healthy, or degraded while the Redis backplane is disconnected; 503 shutting_down while the node drains.");

        api.MapGet("/stats", async Task<IResult> (HttpContext context, AccessService access, ConnectionTracker tracker, TopicRegistry registry, HeraldMetrics metrics) =>
        {
            // A credential that is sent is checked (a wrong key is told so); without one the answer has counts only.
            var named = false;
            if (AccessService.HasOperatorOrServiceCredential(context.Request))
            {
                var (_, error) = await access.AuthenticateOperatorAsync(context, allowService: true);
                if (error is not null)
                {
                    return error;
                }

                named = true;
            }

            return TypedResults.Json(new Stats(
                tracker.Count,
                metrics.EventsSent.Total,
                metrics.EventsPublished.Total,
                new ConnectionDetails(tracker.CountsByTransport(), registry.TopicCount,
                    named ? registry.TopTopics(100).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : null),
                new Counters(metrics.Resumes.Total, metrics.ReplayedEvents.Total, metrics.Resets.Total, metrics.Disconnects.Total,
                    metrics.DuplicatesDropped.Total, metrics.GapsFilled.Total, metrics.StreamsHandedOff.Total)),
                HeraldJson.Options);
        }).Produces<Stats>().WithSummary("{active_connections, events_sent, connection_details: {by_transport, topics[, by_topic with an operator token or X-Api-Key]}}.");
        return app;
    }

    private sealed record Health(string Status, int Connections, string Redis, long LastEventId);

    private sealed record Stats(int ActiveConnections, long EventsSent, long EventsPublished, ConnectionDetails ConnectionDetails, Counters Counters);

    // ByTopic has a default so that /openapi/v1.json does not list it as required: it is left out without a credential.
    private sealed record ConnectionDetails(IReadOnlyDictionary<string, long> ByTransport, int Topics,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, int>? ByTopic = null);

    private sealed record Counters(long Resumes, long ReplayedEvents, long Resets, long ServerDisconnects, long DuplicatesDropped, long GapsFilled, long HandedOffStreams);
}
