namespace Herald.Server.Hub;

/// <summary>
/// The hub's log messages: heartbeat, dispatch and stream leases. Event ids 200-299 are stable; alerts and log
/// queries may use them (every range: <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class HubLog
{
    [LoggerMessage(EventId = 200, EventName = "HeartbeatFault", Level = LogLevel.Error,
        Message = "A heartbeat tick failed; heartbeats go on")]
    public static partial void HeartbeatFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 201, EventName = "HeartbeatConnectionFault", Level = LogLevel.Error,
        Message = "The heartbeat failed on a {Transport} connection; the other connections still get theirs")]
    public static partial void HeartbeatConnectionFault(ILogger logger, string transport, Exception exception);

    [LoggerMessage(EventId = 202, EventName = "WriteTimedOut", Level = LogLevel.Information,
        Message = "Aborting {Transport} connection: a write has not completed for {Seconds:F0} s")]
    public static partial void WriteTimedOut(ILogger logger, string transport, double seconds);

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

    [LoggerMessage(EventId = 220, EventName = "LeaseFault", Level = LogLevel.Error,
        Message = "A stream lease timer failed on a {Transport} connection; expiry is retried in {RetryMs} ms")]
    public static partial void LeaseFault(ILogger logger, string transport, long retryMs, Exception exception);
}
