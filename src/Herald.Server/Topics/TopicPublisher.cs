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
    /// <summary>Validates and publishes; the answer's status is 201 (stored), 202 (ephemeral) or the error.</summary>
    public async Task<(PublishResponse? Response, ApiError? Error)> PublishAsync(HttpContext context, Principal caller, PublishRequest body, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(body.Topic) || !ProtocolNames.IsValidTopic(body.Topic))
        {
            return (null, ApiError.BadRequest(string.IsNullOrEmpty(body.Topic) ? ErrorCodes.MissingField : ErrorCodes.InvalidField,
                "'topic' is required: 1-128 characters of letters, digits, '_', '-', '.', ':', '@'."));
        }

        if (access.AuthorizeTopicPublish(caller, body.Topic) is { } refused)
        {
            return (null, refused);
        }

        var eventName = body.Event ?? "message";
        if (!ProtocolNames.IsValidEventName(eventName))
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidField, "'event' must be 1-64 characters of letters, digits, '_', '-', '.', ':'."));
        }

        if (body.Data is not { } data || data.ValueKind == JsonValueKind.Undefined)
        {
            return (null, ApiError.BadRequest(ErrorCodes.MissingField, "'data' is required (any JSON value)."));
        }

        if (caller is AppUserPrincipal user && limits.TryPost(context, $"user/{user.Subject}") is { } limited)
        {
            return (null, limited);
        }

        // Re-serialised compactly: the stored payload is canonical JSON with no raw line breaks.
        var payload = caller is AppUserPrincipal publisher
            ? JsonSerializer.SerializeToUtf8Bytes(new AppUserEvent(publisher.Subject, data), HeraldJson.Options)
            : JsonSerializer.SerializeToUtf8Bytes(data, HeraldJson.Options);
        if (body.Durable == false)
        {
            hub.PublishEphemeral(body.Topic, eventName, payload);
            return (new PublishResponse(null, body.Topic, eventName), null);
        }

        var id = (await hub.ExecuteAsync(new PublishEventCommand(body.Topic, eventName, payload), cancellationToken)).Id;
        return (new PublishResponse(id, body.Topic, eventName), null);
    }

    private sealed record AppUserEvent(string Sub, JsonElement Data);
}
