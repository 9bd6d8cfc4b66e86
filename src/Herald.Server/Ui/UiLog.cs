namespace Herald.Server.Ui;

/// <summary>The widget, console and demo lines. Event ids 800-899 are stable (every range: <see cref="Diagnostics.LogEventIds"/>).</summary>
internal static partial class UiLog
{
    [LoggerMessage(EventId = 800, EventName = "DemoSetupFailed", Level = LogLevel.Warning,
        Message = "Could not set up the demo assistant; /demo answers 503 until the next start.")]
    public static partial void DemoSetupFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 801, EventName = "DemoReady", Level = LogLevel.Information,
        Message = "Demo: open {Url}/demo (a visitor on a shop page) and {Url}/console (the operators' console) in two tabs")]
    public static partial void DemoReady(ILogger logger, string url);

    [LoggerMessage(EventId = 802, EventName = "DemoTokenRevoked", Level = LogLevel.Warning,
        Message = "The demo's widget token was revoked; the widget on /demo will be refused. Rename the '{Name}' assistant to get a new one.")]
    public static partial void DemoTokenRevoked(ILogger logger, string name);
}
