namespace Herald.Server.Dialogs;

/// <summary>
/// The chat API's log messages, category <c>WIDGET→ADMIN</c> (the name seed 000's operators grep for to trace a
/// widget message to the console). Event ids 600-699 are stable (every range: <see cref="Diagnostics.LogEventIds"/>).
/// </summary>
internal static partial class ChatLog
{
    /// <summary>The category, and the key of the one logger of it in the services (not one logger per request).</summary>
    public const string Category = "WIDGET→ADMIN";

    [LoggerMessage(EventId = 600, EventName = "MessagePublished", Level = LogLevel.Information,
        Message = "Message from {Sender} published: dialog_id={DialogId}, message_id={MessageId}")]
    public static partial void MessagePublished(ILogger logger, string sender, long dialogId, long messageId);
}
