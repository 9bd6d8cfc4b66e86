namespace Herald.Server.Auth;

/// <summary>Lines of the <see cref="GrantWatcher"/>. Event ids are stable: alerts and log queries may use them.</summary>
internal static partial class GrantLog
{
    [LoggerMessage(EventId = 140, EventName = "StreamsRevoked", Level = LogLevel.Information,
        Message = "Closed {Count} open stream(s) of assistant {AssistantId}: their grant was withdrawn ({Reason})")]
    public static partial void StreamsRevoked(ILogger logger, int count, long assistantId, string reason);

    [LoggerMessage(EventId = 141, EventName = "GrantRecheckFailed", Level = LogLevel.Warning,
        Message = "Re-checking open widget streams failed; trying again at the next interval")]
    public static partial void RecheckFailed(ILogger logger, Exception exception);
}
