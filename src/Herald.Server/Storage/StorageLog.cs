namespace Herald.Server.Storage;

/// <summary>
/// The store's log messages: the writer and retention. Event ids 300-399 are stable (every range:
/// <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 300, EventName = "WriteFailed", Level = LogLevel.Error, Message = "Write of {Command} failed")]
    public static partial void WriteFailed(ILogger logger, string command, Exception exception);

    [LoggerMessage(EventId = 301, EventName = "AfterCommitFault", Level = LogLevel.Error,
        Message = "A fault after a batch committed (events {First}-{Last}; 0-0 for none), in its delivery or its figures; its writes succeed")]
    public static partial void AfterCommitFault(ILogger logger, long first, long last, Exception exception);

    [LoggerMessage(EventId = 302, EventName = "WriterFault", Level = LogLevel.Error,
        Message = "The writer failed on a batch of {Count} writes; the ones not yet answered fail, the writer goes on")]
    public static partial void WriterFault(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 310, EventName = "RetentionRemoved", Level = LogLevel.Information, Message = "Retention removed {Count} events")]
    public static partial void RetentionRemoved(ILogger logger, int count);

    [LoggerMessage(EventId = 311, EventName = "RetentionFailed", Level = LogLevel.Error, Message = "Event retention failed; retrying at the next interval")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);
}
