using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Hub;

namespace Herald.Server.Transports;

/// <summary>
/// Long polling, the fallback for networks that hold neither an SSE stream nor a WebSocket (seed 002):
/// <c>?after_id=N&amp;timeout=S</c> answers at once when events after N exist, otherwise waits up to S seconds
/// (at most 30) for the next one. Answer: <c>{"events":[{"id","event","topic","data"}],"last_event_id":N}</c>.
/// </summary>
/// <remarks>
/// The poll registers as a subscriber before it reads the store, exactly like a stream, so an event that
/// commits between the read and the wait is not missed. Ephemeral events (typing) are not part of polling:
/// they have no id to poll after.
/// </remarks>
public sealed class LongPollTransport(StreamHost host, ReplayService replay, Storage.SqlStore store, Diagnostics.HeraldMetrics metrics)
{
    public const string TransportName = "long-poll";
    public const int MaxTimeoutSeconds = 30;
    private const int DefaultTimeoutSeconds = 25;
    private const int MaxEventsPerAnswer = 500;

    public async Task PollAsync(HttpContext context, IReadOnlyList<string> topics, string label, Auth.Principal principal)
    {
        var query = context.Request.Query;
        var (after, afterError) = RequestReader.ParseOptionalPosition(query["after_id"], "after_id");
        if (afterError is not null)
        {
            await afterError.ExecuteAsync(context);
            return;
        }

        var timeoutSeconds = DefaultTimeoutSeconds;
        if (query.ContainsKey("timeout"))
        {
            if (!int.TryParse(query["timeout"], System.Globalization.NumberStyles.None, null, out timeoutSeconds) || timeoutSeconds > MaxTimeoutSeconds)
            {
                await ApiError.BadRequest(ErrorCodes.InvalidField, $"'timeout' must be 0-{MaxTimeoutSeconds} seconds.").ExecuteAsync(context);
                return;
            }
        }

        if (after is null)
        {
            // No position yet: hand out the current head so the next poll starts from "now".
            await WriteAsync(context, [], await store.GetLastEventIdAsync(context.RequestAborted));
            return;
        }

        var subscriber = host.TryOpen(context, TransportName, topics, label, principal, quiet: true);
        if (subscriber is null)
        {
            await host.Refusal().ExecuteAsync(context);
            return;
        }

        try
        {
            var result = await replay.ReadAsync(topics, after.Value, context.RequestAborted, countAsResume: false);
            if (result.Reset is { } reset)
            {
                await WriteAsync(context, [reset], reset.Id);
                return;
            }

            var events = result.Events.Take(MaxEventsPerAnswer).ToList();
            HubEvent? waitedFor = null;
            if (events.Count == 0 && timeoutSeconds > 0)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
                using var wake = timeout.Token.Register(static s => ((Subscriber)s!).Close(Disconnect.ClientClosed, drain: true), subscriber);
                var buffer = new HubEvent?[64];
                while (events.Count == 0 && await subscriber.WaitToReadAsync())
                {
                    var n = subscriber.Drain(buffer);
                    for (var i = 0; i < n; i++)
                    {
                        if (buffer[i] is { IsDurable: true } item && item.Id > after.Value)
                        {
                            events.Add(item);
                            waitedFor ??= item;
                        }
                    }
                }
            }

            if (subscriber.CloseReason == Disconnect.AuthRevoked)
            {
                // The grant was withdrawn while the poll waited: answer as the next poll would.
                await ApiError.Forbidden($"Access refused: {subscriber.CloseDetail}.").ExecuteAsync(context);
                return;
            }

            var last = events.Count > 0 ? events[^1].Id : after.Value;
            await WriteAsync(context, events, last);
            metrics.EventsSent.Add(events.Count);
            if (waitedFor is { } live)
            {
                // Only an event the poll waited for measures delivery; stored ones it found at once were not delayed by us.
                metrics.DeliveryLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(live.ReceivedTimestamp).TotalMilliseconds);
            }
        }
        finally
        {
            host.Close(subscriber, label, Disconnect.ClientClosed, quiet: true);
        }
    }

    private static async Task WriteAsync(HttpContext context, IReadOnlyList<HubEvent> events, long lastEventId)
    {
        var response = context.Response;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(response.BodyWriter);
        json.WriteStartObject();
        json.WriteStartArray("events");
        foreach (var item in events)
        {
            json.WriteStartObject();
            json.WriteNumber("id", item.Id);
            json.WriteString("event", item.Type);
            if (item.Topic.Length > 0)
            {
                json.WriteString("topic", item.Topic);
            }

            json.WritePropertyName("data");
            json.WriteRawValue(item.Data.Span, skipInputValidation: true);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("last_event_id", lastEventId);
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
