using System.Text.Json;
using Herald.Protocol;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Pipeline;

namespace Herald.Server.Topics;

/// <summary>
/// The one path of a generic publish, whichever way it arrives (<c>POST /api/publish</c>, the topic socket's
/// <c>publish</c> frame): the same validation, authorisation and rate limits for every caller.
/// </summary>
/// <remarks>
/// An app user's event carries its publisher: the data is wrapped as <c>{"sub":"&lt;sub&gt;","data":&lt;data&gt;}</c>,
/// written by the server from the verified token, so a subscriber can trust who sent it (a user cannot pose as
/// another). Operators and services publish the data as it is. App users are rate-limited like chat posters: per
/// address and per <c>sub</c>.
/// </remarks>
public sealed class TopicPublisher(EventHub hub, AccessService access, RateLimits limits)
{
    /// <summary>
    /// Validates and publishes; the answer's status is 201 (stored), 202 (ephemeral) or the error.
    /// <paramref name="clientKey"/> is the caller's address (<see cref="RateLimits.ClientKey"/>), taken by the caller:
    /// a topic socket publishes long after its request has ended (and after a hand-off its HttpContext is Kestrel's again).
    /// </summary>
    public async Task<(PublishResponse? Response, ApiError? Error)> PublishAsync(string clientKey, Principal caller, PublishRequest body, CancellationToken cancellationToken)
    {
        if (Validate(caller, [body.Topic], body.Event, body.Data) is { } invalid)
        {
            return (null, invalid);
        }

        var eventName = body.Event ?? "message";
        if (caller is AppUserPrincipal user && limits.TryPost(clientKey, $"user/{user.Subject}") is { } limited)
        {
            return (null, limited);
        }

        var payload = Payload(caller, body.Data!.Value);
        if (body.Durable == false)
        {
            hub.PublishEphemeral(body.Topic!, eventName, payload);
            return (new PublishResponse(null, body.Topic!, eventName), null);
        }

        var id = (await hub.ExecuteAsync(new PublishEventCommand(body.Topic!, eventName, payload), cancellationToken)).Id;
        return (new PublishResponse(id, body.Topic!, eventName), null);
    }

    /// <summary>
    /// The rules every generic publish follows, one topic or many (<c>POST /api/broadcast</c>): valid topics the caller
    /// may publish to, a valid event name, some data.
    /// </summary>
    public ApiError? Validate(Principal caller, IReadOnlyList<string?> topics, string? eventName, JsonElement? data)
    {
        foreach (var topic in topics)
        {
            if (string.IsNullOrEmpty(topic) || !ProtocolNames.IsValidTopic(topic))
            {
                return ApiError.BadRequest(string.IsNullOrEmpty(topic) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                    "'topic' is required: 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.");
            }

            if (access.AuthorizeTopicPublish(caller, topic) is { } refused)
            {
                return refused;
            }
        }

        if (!ProtocolNames.IsValidEventName(eventName ?? "message"))
        {
            return ApiError.BadRequest(ErrorCodes.InvalidField, "'event' must be 1-64 characters of letters, digits, '_', '-', '.', ':'.");
        }

        return data is not { } value || value.ValueKind == JsonValueKind.Undefined
            ? ApiError.BadRequest(ErrorCodes.MissingField, "'data' is required (any JSON value).")
            : null;
    }

    /// <summary>
    /// The stored payload of validated data: re-serialised compactly (canonical JSON with no raw line breaks), and an
    /// app user's wrapped with its <c>sub</c>.
    /// </summary>
    public static byte[] Payload(Principal caller, JsonElement data) => caller is AppUserPrincipal publisher
        ? JsonSerializer.SerializeToUtf8Bytes(new AppUserEvent(publisher.Subject, data), HeraldJson.Options)
        : JsonSerializer.SerializeToUtf8Bytes(data, HeraldJson.Options);

    private sealed record AppUserEvent(string Sub, JsonElement Data);
}
