namespace Herald.Server.Diagnostics;

/// <summary>
/// Connect, disconnect and drain lines of category <c>SSE Manager</c> (the name seed 000's runbook greps for).
/// Event ids 100-199 are stable: alerts and log queries may use them (every range: <see cref="LogEventIds"/>).
/// </summary>
internal static partial class StreamLog
{
    public const string Category = "SSE Manager";

    [LoggerMessage(EventId = 100, EventName = "StreamConnected", Message = "{Transport} connected: {Label}, topics={Topics}")]
    public static partial void Connected(ILogger logger, LogLevel level, string transport, string label, string topics);

    [LoggerMessage(EventId = 101, EventName = "StreamDisconnected", Message = "{Transport} disconnected: {Label}, topics={Topics}, reason={Reason}")]
    public static partial void Disconnected(ILogger logger, LogLevel level, string transport, string label, string topics, string reason);

    [LoggerMessage(EventId = 110, EventName = "DrainStarted", Level = LogLevel.Information,
        Message = "Draining for shutdown: closing {Count} connections ({ByTransport}); new streams get 503 shutting_down; deadline {DeadlineMs} ms")]
    public static partial void DrainStarted(ILogger logger, int count, string byTransport, long deadlineMs);

    [LoggerMessage(EventId = 111, EventName = "DrainCompleted", Level = LogLevel.Information, Message = "Drained: every stream closed after {ElapsedMs} ms")]
    public static partial void DrainCompleted(ILogger logger, long elapsedMs);

    [LoggerMessage(EventId = 112, EventName = "DrainDeadline", Level = LogLevel.Warning,
        Message = "Drain deadline reached after {ElapsedMs} ms: aborting {Count} connections that had not finished")]
    public static partial void DrainDeadline(ILogger logger, long elapsedMs, int count);
}
