namespace Herald.Server.Hub;

/// <summary>
/// The hub's log messages: heartbeat and stream leases. Event ids 200-209 are stable; alerts and log
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

    [LoggerMessage(EventId = 203, EventName = "LeaseFault", Level = LogLevel.Error,
        Message = "A stream lease timer failed on a {Transport} connection; expiry is retried in {RetryMs} ms")]
    public static partial void LeaseFault(ILogger logger, string transport, long retryMs, Exception exception);
}
