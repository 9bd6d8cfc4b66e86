namespace Herald.Server.Backplane;

/// <summary>
/// The Redis backplane's and the store watcher's log messages. Event ids 400-499 are stable (every range:
/// <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class BackplaneLog
{
    [LoggerMessage(EventId = 400, EventName = "RedisUnreachable", Level = LogLevel.Warning,
        Message = "Redis at {Endpoint} unreachable ({Error}); retrying in {DelayMs} ms")]
    public static partial void RedisUnreachable(ILogger logger, string endpoint, string error, double delayMs);

    [LoggerMessage(EventId = 401, EventName = "RedisConnected", Level = LogLevel.Information,
        Message = "Redis backplane connected to {Endpoint} as node {Node}")]
    public static partial void RedisConnected(ILogger logger, string endpoint, string node);

    [LoggerMessage(EventId = 402, EventName = "OutboxFull", Level = LogLevel.Warning,
        Message = "Backplane outbox full; event {Id} on {Topic} not published to Redis")]
    public static partial void OutboxFull(ILogger logger, long id, string topic);

    [LoggerMessage(EventId = 403, EventName = "PublishFailed", Level = LogLevel.Debug,
        Message = "Publishing to Redis failed ({Error}); other nodes catch up from the store")]
    public static partial void PublishFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 404, EventName = "ForeignMessage", Level = LogLevel.Warning,
        Message = "Ignoring a message on {Channel} that is not in Herald's backplane format")]
    public static partial void ForeignMessage(ILogger logger, string channel);

    [LoggerMessage(EventId = 405, EventName = "ReceiveFault", Level = LogLevel.Error,
        Message = "Handling a backplane message on {Channel} failed; receiving goes on (durable events are caught up from the store)")]
    public static partial void ReceiveFault(ILogger logger, string channel, Exception exception);

    [LoggerMessage(EventId = 406, EventName = "PublishFault", Level = LogLevel.Error,
        Message = "The backplane publish loop failed on {Count} events; it goes on (other nodes catch them up from the store)")]
    public static partial void PublishFault(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 407, EventName = "SubscribeDeferred", Level = LogLevel.Warning,
        Message = "Subscribing to {Pattern} failed ({Error}); it is made on reconnect")]
    public static partial void SubscribeDeferred(ILogger logger, string pattern, string error);

    [LoggerMessage(EventId = 408, EventName = "ConnectionLost", Level = LogLevel.Warning,
        Message = "Redis connection to {Endpoint} ({ConnectionType}) lost: {FailureType}; reconnecting, the store covers the gap")]
    public static partial void ConnectionLost(ILogger logger, string endpoint, string connectionType, string failureType);

    [LoggerMessage(EventId = 409, EventName = "ConnectionRestored", Level = LogLevel.Information,
        Message = "Redis connection to {Endpoint} ({ConnectionType}) restored")]
    public static partial void ConnectionRestored(ILogger logger, string endpoint, string connectionType);

    [LoggerMessage(EventId = 410, EventName = "CaughtUp", Level = LogLevel.Information,
        Message = "Caught up events {From}..{To} from the store (backplane {State})")]
    public static partial void CaughtUp(ILogger logger, long from, long to, string state);

    [LoggerMessage(EventId = 411, EventName = "CatchUpFailed", Level = LogLevel.Error, Message = "Catching up from the store failed; retrying")]
    public static partial void CatchUpFailed(ILogger logger, Exception exception);

    // 440-449: the interest loop of Herald:Redis:Subscribe=interest.
    [LoggerMessage(EventId = 440, EventName = "InterestFault", Level = LogLevel.Error,
        Message = "Subscribing or unsubscribing the channel of topic {Topic} failed; its events come from the store until its next change")]
    public static partial void InterestFault(ILogger logger, string topic, Exception exception);
}
