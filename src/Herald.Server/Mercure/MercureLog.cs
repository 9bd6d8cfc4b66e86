namespace Herald.Server.Mercure;

/// <summary>
/// The Mercure hub's log lines, category <c>Herald.Server.Mercure.MercureEndpoints</c>. Event ids 1300-1349 (1303-1305: subscriptions) are
/// stable (every range: <see cref="Diagnostics.LogEventIds"/>). Topics and tokens are never logged: they are the
/// application's data and credentials.
/// </summary>
internal static partial class MercureLog
{
    [LoggerMessage(EventId = 1300, EventName = "MercureUpdatePublished", Level = LogLevel.Debug,
        Message = "Mercure update published: event_id={EventId}, topics={TopicCount}, private={Private}")]
    public static partial void Published(ILogger logger, long eventId, int topicCount, bool @private);

    [LoggerMessage(EventId = 1301, EventName = "MercureTokenRefused", Level = LogLevel.Information,
        Message = "Mercure {Role} token refused (signature, lifetime, issuer, audience or grants): {Method} from {Client}")]
    public static partial void TokenRefused(ILogger logger, MercureRole role, string method, string client);

    [LoggerMessage(EventId = 1302, EventName = "MercurePublishForbidden", Level = LogLevel.Information,
        Message = "Mercure publish refused: the token grants publishing to none or only some of the update's {TopicCount} topics")]
    public static partial void PublishForbidden(ILogger logger, int topicCount);

    [LoggerMessage(EventId = 1303, EventName = "MercureSubscriptionsLoopFault", Level = LogLevel.Error,
        Message = "The Mercure subscriptions loop failed; it runs again at the next interval")]
    public static partial void SubscriptionsLoopFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1304, EventName = "MercureSubscriptionEventFailed", Level = LogLevel.Warning,
        Message = "A Mercure subscription event (active={Active}) could not be stored and was not sent")]
    public static partial void SubscriptionEventFailed(ILogger logger, bool active, Exception exception);

    [LoggerMessage(EventId = 1305, EventName = "MercureSubscriptionsClaimed", Level = LogLevel.Information,
        Message = "Claimed {Count} Mercure subscriptions of nodes that died; their end is announced from this node")]
    public static partial void SubscriptionsClaimed(ILogger logger, int count);
}
