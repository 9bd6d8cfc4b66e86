namespace Herald.Server.Diagnostics;

/// <summary>
/// Presence and the server API's cross-node commands (<c>Hub/PresenceService</c>, <c>Backplane/RedisPresenceStore</c>).
/// Event ids 1100-1119 are stable (every range: <see cref="LogEventIds"/>).
/// </summary>
internal static partial class PresenceLog
{
    [LoggerMessage(EventId = 1101, EventName = "PresenceWriteFailed", Level = LogLevel.Warning,
        Message = "Presence: writing to Redis failed ({Error}); everything is written again at the next interval")]
    public static partial void WriteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1102, EventName = "PresenceSubscribeDeferred", Level = LogLevel.Warning,
        Message = "Presence: subscribing to the control channel failed ({Error}); it is made on reconnect")]
    public static partial void SubscribeDeferred(ILogger logger, string error);

    [LoggerMessage(EventId = 1103, EventName = "PresenceControlFault", Level = LogLevel.Error,
        Message = "Presence: handling a control message failed; receiving goes on")]
    public static partial void ControlFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1104, EventName = "PresenceLoopFault", Level = LogLevel.Error,
        Message = "Presence: an interval failed; the loop goes on and writes everything at the next one")]
    public static partial void LoopFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1105, EventName = "PresenceLeaveFailed", Level = LogLevel.Debug,
        Message = "Presence: removing this node's keys at shutdown failed ({Error}); they expire after Herald:Presence:Ttl")]
    public static partial void LeaveFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1106, EventName = "MercureSubscriptionsWriteFailed", Level = LogLevel.Warning,
        Message = "Mercure subscriptions could not be written to Redis ({Error}); this node writes its whole list again at the next interval")]
    public static partial void MercureSubscriptionsWriteFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1110, EventName = "SubjectDisconnected", Level = LogLevel.Information,
        Message = "Disconnected {Count} connections of {Subject} (topic {Topic}) at {Origin}'s request")]
    public static partial void SubjectDisconnected(ILogger logger, int count, string subject, string topic, string origin);
}
