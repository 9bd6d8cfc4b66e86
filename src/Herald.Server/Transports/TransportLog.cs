namespace Herald.Server.Transports;

/// <summary>
/// The transports' own log messages (connect and disconnect lines are <see cref="Diagnostics.StreamLog"/>'s).
/// Event ids 500-599 are stable (every range: <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class TransportLog
{
    /// <summary>The category of WebSocket lines, as seed 000's runbook knows it.</summary>
    public const string WebSocketCategory = "WebSocket";

    [LoggerMessage(EventId = 500, EventName = "WebSocketRefused", Level = LogLevel.Information, Message = "WebSocket refused: {Code} {Error}")]
    public static partial void WebSocketRefused(ILogger logger, int code, string error);

    [LoggerMessage(EventId = 501, EventName = "WebSocketClientViolation", Level = LogLevel.Information, Message = "WebSocket closed for the client's frame: {Code} {Reason} ({Detail})")]
    public static partial void WebSocketClientViolation(ILogger logger, int code, string reason, string? detail);

    [LoggerMessage(EventId = 502, EventName = "WebSocketReaderFault", Level = LogLevel.Error, Message = "WebSocket reader failed on {Label}; the socket is closed")]
    public static partial void WebSocketReaderFault(ILogger logger, string label, Exception exception);
}
