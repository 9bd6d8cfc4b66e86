using Herald.Server.Api;
using Herald.Server.Backplane;
using Herald.Server.Hub;

namespace Herald.Server.Diagnostics;

/// <summary><c>/api/sse/health</c> and <c>/api/sse/stats</c>, in the shapes seed 000's runbook uses.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/sse").WithTags("Diagnostics");
        api.MapGet("/health", (ConnectionTracker tracker, IEventBus bus, EventDispatcher dispatcher, Transports.StreamHost host) =>
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
        }).WithSummary("{status, connections, redis}: healthy, or degraded while the Redis backplane is disconnected.");

        api.MapGet("/stats", (ConnectionTracker tracker, TopicRegistry registry, HeraldMetrics metrics) =>
            TypedResults.Json(new Stats(
                tracker.Count,
                metrics.EventsSent.Total,
                metrics.EventsPublished.Total,
                new ConnectionDetails(tracker.CountsByTransport(), registry.TopicCount,
                    registry.TopTopics(100).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal)),
                new Counters(metrics.Resumes.Total, metrics.ReplayedEvents.Total, metrics.Resets.Total, metrics.Disconnects.Total,
                    metrics.DuplicatesDropped.Total, metrics.GapsFilled.Total, metrics.StreamsHandedOff.Total)),
                HeraldJson.Options))
            .WithSummary("{active_connections, events_sent, connection_details: {by_transport, topics, by_topic}}.");
        return app;
    }

    private sealed record Health(string Status, int Connections, string Redis, long LastEventId);

    private sealed record Stats(int ActiveConnections, long EventsSent, long EventsPublished, ConnectionDetails ConnectionDetails, Counters Counters);

    private sealed record ConnectionDetails(IReadOnlyDictionary<string, long> ByTransport, int Topics, IReadOnlyDictionary<string, int> ByTopic);

    private sealed record Counters(long Resumes, long ReplayedEvents, long Resets, long ServerDisconnects, long DuplicatesDropped, long GapsFilled, long HandedOffStreams);
}
