using System.Text.Json;

namespace Herald.Server.Mercure;

/// <summary>
/// What a verified Mercure token allows: the selectors it may publish to and subscribe to, the subscription payload,
/// and when it expires. Read from the 0.x <c>mercure</c> claim (Symfony, API Platform) or from 1.0
/// <c>authorization_details</c>; a token carrying neither grants nothing.
/// </summary>
public sealed record MercureGrants(
    IReadOnlyList<TopicSelector> Publish,
    IReadOnlyList<TopicSelector> Subscribe,
    JsonElement? Payload,
    DateTimeOffset? ExpiresAt)
{
    public const string AuthorizationDetailType = "https://mercure.rocks/authorization-detail";

    /// <summary>Most selectors one token may carry; above it the token is refused (the draft asks hubs to bound this).</summary>
    public const int MaxSelectors = 256;

    /// <summary>
    /// Reads the claims of a token whose signature and lifetime are already checked. Throws
    /// <see cref="FormatException"/> for a grant that does not parse: the draft forbids acting on the rest of it.
    /// </summary>
    public static MercureGrants FromClaims(JsonElement claims, string hubUrl, DateTimeOffset? expiresAt)
    {
        List<TopicSelector> publish = [];
        List<TopicSelector> subscribe = [];
        JsonElement? payload = null;
        if (claims.TryGetProperty("mercure", out var mercure))
        {
            if (mercure.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("The 'mercure' claim is not an object.");
            }

            ReadLegacy(mercure, "publish", publish, hubUrl);
            ReadLegacy(mercure, "subscribe", subscribe, hubUrl);
            if (mercure.TryGetProperty("payload", out var p))
            {
                payload = p.Clone();
            }
        }

        if (claims.TryGetProperty("authorization_details", out var details))
        {
            if (details.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("The 'authorization_details' claim is not an array.");
            }

            foreach (var detail in details.EnumerateArray())
            {
                ReadDetail(detail, publish, subscribe, ref payload, hubUrl);
            }
        }

        if (publish.Count + subscribe.Count > MaxSelectors)
        {
            throw new FormatException($"A token grants at most {MaxSelectors} selectors.");
        }

        return new MercureGrants(publish, subscribe, payload, expiresAt);
    }

    /// <summary>May this token publish an update with these topics? Every one of them must be granted.</summary>
    public bool CanPublish(IReadOnlyList<string> topics, string hubUrl) =>
        topics.All(topic => Publish.Any(selector => selector.Matches(topic, hubUrl)));

    /// <summary>May this token read a private update with these topics? One of them granted is enough (the draft's union rule).</summary>
    public bool CanSubscribe(IReadOnlyList<string> topics, string hubUrl) => TopicSelector.AnyMatches(Subscribe, topics, hubUrl);

    // 0.x: {"publish": ["…"], "subscribe": ["…"]}, each a topic or a URI template, "*" for all.
    private static void ReadLegacy(JsonElement mercure, string name, List<TopicSelector> into, string hubUrl)
    {
        if (!mercure.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"'mercure.{name}' is not an array.");
        }

        foreach (var entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.String)
            {
                throw new FormatException($"'mercure.{name}' holds a value that is not a string.");
            }

            into.Add(TopicSelector.Parse(SelectorKind.UriTemplate, entry.GetString()!, hubUrl));
        }
    }

    // 1.0: {"type": "https://mercure.rocks/authorization-detail", "actions": [...], "topics": [{"match", "match_type"}], "payload"}.
    private static void ReadDetail(JsonElement detail, List<TopicSelector> publish, List<TopicSelector> subscribe, ref JsonElement? payload, string hubUrl)
    {
        if (detail.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("An authorization detail is not an object.");
        }

        if (!detail.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != AuthorizationDetailType)
        {
            // Details of other types are another resource server's business (RFC 9396).
            return;
        }

        if (!detail.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array || actions.GetArrayLength() == 0
            || !detail.TryGetProperty("topics", out var topics) || topics.ValueKind != JsonValueKind.Array || topics.GetArrayLength() == 0)
        {
            throw new FormatException("A Mercure authorization detail needs non-empty 'actions' and 'topics' arrays.");
        }

        List<TopicSelector> selectors = [];
        foreach (var topic in topics.EnumerateArray())
        {
            if (topic.ValueKind != JsonValueKind.Object || !topic.TryGetProperty("match", out var match) || match.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("A topic matcher of an authorization detail needs a string 'match'.");
            }

            var kind = !topic.TryGetProperty("match_type", out var matchType) ? SelectorKind.Exact
                : matchType.ValueKind == JsonValueKind.String && matchType.GetString() == "exact" ? SelectorKind.Exact
                : matchType.ValueKind == JsonValueKind.String && matchType.GetString() == "urlpattern" ? SelectorKind.UrlPattern
                : throw new FormatException("'match_type' must be 'exact' or 'urlpattern'.");
            selectors.Add(TopicSelector.Parse(kind, match.GetString()!, hubUrl));
        }

        foreach (var action in actions.EnumerateArray())
        {
            if (action.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("An action of an authorization detail is not a string.");
            }

            // Unknown actions grant nothing and are not an error (the draft's extension rule).
            switch (action.GetString())
            {
                case "publish":
                    publish.AddRange(selectors);
                    break;
                case "subscribe":
                    subscribe.AddRange(selectors);
                    if (payload is null && detail.TryGetProperty("payload", out var p))
                    {
                        payload = p.Clone();
                    }

                    break;
            }
        }
    }
}
