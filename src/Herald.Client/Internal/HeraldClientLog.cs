using Microsoft.Extensions.Logging;

namespace Herald.Client.Internal;

/// <summary>The client's log messages, with stable event ids.</summary>
internal static partial class HeraldClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Herald stream connected: {Path}, resuming after {LastEventId}")]
    public static partial void Connected(ILogger logger, string path, long? lastEventId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Herald stream lost: {Path} ({Reason}); reconnecting in {DelayMs} ms")]
    public static partial void Reconnecting(ILogger logger, string path, string reason, long delayMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Herald stream reset: {Path}, reason {Reason}, continuing after {LastEventId}; reload history")]
    public static partial void Reset(ILogger logger, string path, string reason, long? lastEventId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Herald refused the stream {Path}: {Status} {Error}")]
    public static partial void Refused(ILogger logger, string path, int status, string? error);
}
