using Microsoft.Extensions.Logging;

namespace Herald.Redis.Internal;

/// <summary>
/// The Redis client's log messages. Event ids 900-999 are stable (the gateway lists every range on its
/// <c>LogEventIds</c> and in docs/deploy.md, "Logs").
/// </summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 900, EventName = "Connected", Level = LogLevel.Information, Message = "Redis {Role} connected to {Endpoint}")]
    public static partial void Connected(ILogger logger, string role, RedisEndpoint endpoint);

    [LoggerMessage(EventId = 901, EventName = "ConnectionLost", Level = LogLevel.Warning,
        Message = "Redis {Role} lost its connection to {Endpoint}; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string role, RedisEndpoint endpoint, Exception? reason);

    [LoggerMessage(EventId = 902, EventName = "Reconnected", Level = LogLevel.Information, Message = "Redis {Role} reconnected to {Endpoint}")]
    public static partial void Reconnected(ILogger logger, string role, RedisEndpoint endpoint);

    [LoggerMessage(EventId = 903, EventName = "ReconnectFailed", Level = LogLevel.Warning,
        Message = "Redis {Role} reconnect attempt {Attempt} to {Endpoint} failed: {Error}")]
    public static partial void ReconnectFailed(ILogger logger, string role, int attempt, RedisEndpoint endpoint, string error);

    [LoggerMessage(EventId = 910, EventName = "SupervisionFault", Level = LogLevel.Error,
        Message = "Redis {Role} for {Endpoint}: supervising the connection failed; it goes on")]
    public static partial void SupervisionFault(ILogger logger, string role, RedisEndpoint endpoint, Exception exception);

    [LoggerMessage(EventId = 911, EventName = "HeartbeatFault", Level = LogLevel.Error, Message = "Redis {Role} heartbeat for {Endpoint} failed")]
    public static partial void HeartbeatFault(ILogger logger, string role, RedisEndpoint endpoint, Exception exception);

    [LoggerMessage(EventId = 912, EventName = "HandlerFault", Level = LogLevel.Error, Message = "A Redis {Role} event handler threw")]
    public static partial void HandlerFault(ILogger logger, string role, Exception exception);

    [LoggerMessage(EventId = 920, EventName = "Resubscribing", Level = LogLevel.Information,
        Message = "Redis subscriber resubscribing to {Count} channels and patterns")]
    public static partial void Resubscribing(ILogger logger, int count);

    [LoggerMessage(EventId = 921, EventName = "ResubscribeFailed", Level = LogLevel.Error,
        Message = "Redis subscriber could not resubscribe to {Name} and dropped it: {Error}")]
    public static partial void ResubscribeFailed(ILogger logger, string name, string error);

    [LoggerMessage(EventId = 922, EventName = "ConsumerBehind", Level = LogLevel.Warning,
        Message = "Redis subscriber's consumer is {Capacity} messages behind; dropping the connection to {Endpoint} and reconnecting once it has caught up")]
    public static partial void ConsumerBehind(ILogger logger, int capacity, RedisEndpoint endpoint);
}
