namespace Herald.Bridge;

/// <summary>The bridge's log messages. Event ids 6001-6099 (issue 6; 6014-6015 issue 15) are stable; dashboards may filter on them.</summary>
internal static partial class BridgeLog
{
    [LoggerMessage(6001, LogLevel.Information, "WebSocket client {Client} connected")]
    public static partial void ClientConnected(ILogger logger, string client);

    [LoggerMessage(6002, LogLevel.Information, "WebSocket client {Client} disconnected")]
    public static partial void ClientDisconnected(ILogger logger, string client);

    [LoggerMessage(6003, LogLevel.Warning, "Refused a bridge client from {Client}: missing or wrong token")]
    public static partial void Unauthorized(ILogger logger, string client);

    [LoggerMessage(6004, LogLevel.Information, "{Client} stream {Stream}: {Method} {Target}")]
    public static partial void StreamStarting(ILogger logger, string client, string stream, string method, string target);

    [LoggerMessage(6005, LogLevel.Information, "{Client} stream {Stream}: SSE server answered {Status}")]
    public static partial void StreamConnected(ILogger logger, string client, string stream, int status);

    [LoggerMessage(6006, LogLevel.Information, "{Client} stream {Stream} closed: {Reason} ({Events} events)")]
    public static partial void StreamClosed(ILogger logger, string client, string stream, string reason, long events);

    [LoggerMessage(6007, LogLevel.Warning, "{Client} stream {Stream} failed: {Message}")]
    public static partial void StreamFailed(ILogger logger, string client, string stream, string message);

    [LoggerMessage(6008, LogLevel.Information, "{Client} stream {Stream}: reconnecting in {Delay} ms with Last-Event-ID '{LastEventId}' (attempt {Attempt})")]
    public static partial void Resuming(ILogger logger, string client, string stream, long delay, string lastEventId, int attempt);

    [LoggerMessage(6009, LogLevel.Warning, "{Client}: a send took longer than {Timeout} ms; the connection is aborted")]
    public static partial void SlowClient(ILogger logger, string client, int timeout);

    [LoggerMessage(6010, LogLevel.Information, "{Client}: rejected message: {Message}")]
    public static partial void RejectedMessage(ILogger logger, string client, string message);

    [LoggerMessage(6011, LogLevel.Error, "{Client} stream {Stream}: unexpected error")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string client, string stream);

    [LoggerMessage(6013, LogLevel.Warning, "Refused a bridge client from {Client}: origin '{Origin}' is not in proxy.allowedOrigins")]
    public static partial void OriginRefused(ILogger logger, string client, string origin);

    [LoggerMessage(6014, LogLevel.Warning, "Refused a bridge client from {Client}: its address holds as many connections as {Setting} allows")]
    public static partial void TooManyConnections(ILogger logger, string client, string setting);

    [LoggerMessage(6015, LogLevel.Information, "{Client}: the operator token that admitted this socket expired; closing with 4010")]
    public static partial void AuthExpired(ILogger logger, string client);

    [LoggerMessage(6012, LogLevel.Information, "Bridge listening at {Path}; upstream allow-list: {Networks}; credentials: {Authentication}")]
    public static partial void Mapped(ILogger logger, string path, string networks, string authentication);
}
