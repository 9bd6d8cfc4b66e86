namespace Herald.Server.Auth;

/// <summary>
/// The topic namespaces Herald keeps for itself, as the composition root (<c>HeraldApp</c>) registers them: the chat
/// domain's, a dialog's topic (<c>dialog:{id}</c>, every topic starting <c>dialog:</c>) and the operators' feed
/// (<c>dialogs</c>). Their events come only from the chat API, which stores the message each one announces;
/// <c>POST /api/publish</c> refuses them for everyone, and a service key reads them only where
/// <c>Herald:Auth:ServiceChatRead</c> allows it (<see cref="AccessService"/>).
/// </summary>
public sealed class ReservedTopics(IReadOnlyList<string> prefixes, IReadOnlyList<string> names)
{
    private readonly string[] _prefixes = [.. prefixes];
    private readonly string[] _names = [.. names];

    /// <summary>Is <paramref name="topic"/> in a reserved namespace?</summary>
    public bool IsReserved(string topic)
    {
        foreach (var prefix in _prefixes)
        {
            if (topic.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return Array.IndexOf(_names, topic) >= 0;
    }
}
