namespace Herald.Server.Operations;

/// <summary>
/// The node's start-up and operation lines: the signing key warning, where it listens, the first operator, the
/// metrics scrape. Event ids 700-799 are stable (every range: <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class OperationsLog
{
    [LoggerMessage(EventId = 700, EventName = "DevelopmentSigningKey", Level = LogLevel.Warning,
        Message = "Herald:Auth:SigningKey is not set: using the Development default key. Never run like this in production.")]
    public static partial void DevelopmentSigningKey(ILogger logger);

    [LoggerMessage(EventId = 701, EventName = "Listening", Level = LogLevel.Information, Message = "Herald listening on {Addresses} (storage: {Provider} at {Database})")]
    public static partial void Listening(ILogger logger, string addresses, string provider, string database);

    [LoggerMessage(EventId = 702, EventName = "LoginHint", Level = LogLevel.Information,
        Message = "Log in: curl -X POST {Url}/api/auth/login -H 'Content-Type: application/json' -d '{{\"email\":\"{Email}\",\"password\":\"{Password}\"}}'")]
    public static partial void LoginHint(ILogger logger, string url, string email, string password);

    [LoggerMessage(EventId = 703, EventName = "FirstOperatorCreated", Level = LogLevel.Information,
        Message = "Created the first operator {Email} from HERALD_ADMIN_EMAIL")]
    public static partial void FirstOperatorCreated(ILogger logger, string email);

    [LoggerMessage(EventId = 704, EventName = "NoOperator", Level = LogLevel.Warning,
        Message = "No operator exists. Set HERALD_ADMIN_EMAIL and HERALD_ADMIN_PASSWORD, or run: herald users add --email E --password P")]
    public static partial void NoOperator(ILogger logger);

    [LoggerMessage(EventId = 720, EventName = "ObservableInstrumentFault", Level = LogLevel.Warning,
        Message = "An observable instrument failed during a metrics scrape")]
    public static partial void ObservableInstrumentFault(ILogger logger, Exception exception);
}
