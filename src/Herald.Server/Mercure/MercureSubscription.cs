using System.Text;
using System.Text.Json;

namespace Herald.Server.Mercure;

/// <summary>
/// One active subscription as the Mercure hub describes it (one per selector of a connection): the JSON-LD document of
/// the subscriptions API and of subscription events, as the reference hub writes it (<c>@context</c>
/// <c>https://mercure.rocks/</c>, <c>type</c> <c>Subscription</c>, <c>topic</c> the selector as the subscriber sent it).
/// </summary>
public sealed record MercureSubscription(string Id, string Subscriber, string Topic, bool Active, JsonElement? Payload)
{
    /// <summary>The JSON-LD context of every document (the reference hub's).</summary>
    public const string Context = "https://mercure.rocks/";

    /// <summary>
    /// The subscription's id, also the topic of its events: the hub's path, <c>/subscriptions/</c>, then the selector and
    /// the subscriber, each percent-encoded once as a whole (RFC 6570 <c>{/topic}{/subscriber}</c>: <c>/</c>, <c>:</c>,
    /// <c>%</c> and every other reserved character encoded).
    /// </summary>
    public static string IdOf(string hubPath, string topic, string subscriber) =>
        hubPath + "/subscriptions/" + Uri.EscapeDataString(topic) + "/" + Uri.EscapeDataString(subscriber);

    /// <summary>This subscription ended (or started): the same document with <see cref="Active"/> set.</summary>
    public MercureSubscription WithActive(bool active) => this with { Active = active };

    /// <summary>
    /// The document. <paramref name="context"/>: with <c>@context</c> (a document on its own: an event, a single
    /// subscription) or without (an entry of a collection, whose <c>@context</c> covers it); <paramref name="lastEventId"/>
    /// only on a single subscription the API answers.
    /// </summary>
    public string ToJson(bool context = true, string? lastEventId = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Write(json, context, lastEventId);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal void Write(Utf8JsonWriter json, bool context, string? lastEventId)
    {
        json.WriteStartObject();
        if (context)
        {
            json.WriteString("@context", Context);
        }

        json.WriteString("id", Id);
        json.WriteString("type", "Subscription");
        json.WriteString("subscriber", Subscriber);
        json.WriteString("topic", Topic);
        json.WriteBoolean("active", Active);
        if (lastEventId is not null)
        {
            json.WriteString("lastEventID", lastEventId);
        }

        if (Payload is { } payload)
        {
            json.WritePropertyName("payload");
            payload.WriteTo(json);
        }

        json.WriteEndObject();
    }

    /// <summary>Reads a document <see cref="ToJson"/> wrote (another node's, from the backplane); null when it is not one.</summary>
    public static MercureSubscription? Parse(string document)
    {
        try
        {
            using var doc = JsonDocument.Parse(document);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("subscriber", out var subscriber) || subscriber.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("topic", out var topic) || topic.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            JsonElement? payload = root.TryGetProperty("payload", out var p) ? p.Clone() : null;
            return new MercureSubscription(id.GetString()!, subscriber.GetString()!, topic.GetString()!,
                !root.TryGetProperty("active", out var active) || active.ValueKind != JsonValueKind.False, payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
