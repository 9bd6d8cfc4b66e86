using Herald.Server.Dialogs;

namespace Herald.Server.Hub;

/// <summary>
/// The topic namespaces Herald keeps for itself: a dialog's topic (<c>dialog:{id}</c>, every topic starting
/// <c>dialog:</c>) and the operators' feed (<c>dialogs</c>). Their events come only from the chat API, which stores
/// the message each one announces; <c>POST /api/publish</c> refuses them for everyone, and a service key reads them
/// only where <c>Herald:Auth:ServiceChatRead</c> allows it (<see cref="Auth.AccessService"/>).
/// </summary>
public static class ReservedTopics
{
    /// <summary>Is <paramref name="topic"/> in a reserved namespace?</summary>
    public static bool IsReserved(string topic) =>
        topic.StartsWith(DialogTopics.Prefix, StringComparison.Ordinal) || topic == DialogTopics.OperatorFeed;
}
