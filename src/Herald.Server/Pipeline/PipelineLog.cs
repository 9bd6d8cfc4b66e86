namespace Herald.Server.Pipeline;

/// <summary>
/// The pipeline's log messages: dispatch and fan-out. Event ids 210-219 are stable (they were the hub's before the
/// pipeline had a folder of its own; the ranges of all <c>*Log</c> classes are listed on <c>Hub.HubLog</c>).
/// </summary>
internal static partial class PipelineLog
{
    [LoggerMessage(EventId = 210, EventName = "FanOutFault", Level = LogLevel.Error,
        Message = "Queuing event {Id} on {Topic} to a {Transport} connection failed; the other subscribers still get it")]
    public static partial void FanOutFault(ILogger logger, long id, string topic, string transport, Exception exception);

    [LoggerMessage(EventId = 211, EventName = "DispatchFault", Level = LogLevel.Error,
        Message = "Dispatching event {Id} on {Topic} failed; dispatch goes on with the next event")]
    public static partial void DispatchFault(ILogger logger, long id, string topic, Exception exception);

    [LoggerMessage(EventId = 212, EventName = "GapFillFailed", Level = LogLevel.Warning,
        Message = "Filling an event gap from the store failed; retrying after the reorder window")]
    public static partial void GapFillFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 213, EventName = "EventsTrimmed", Level = LogLevel.Warning,
        Message = "Events {From}..{To} are no longer in the store; skipping them")]
    public static partial void EventsTrimmed(ILogger logger, long from, long to);
}
