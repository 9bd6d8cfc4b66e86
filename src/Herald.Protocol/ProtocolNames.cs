namespace Herald.Protocol;

/// <summary>
/// Rules for the names that travel inside frames: topics and event names.
/// </summary>
/// <remarks>
/// Both end up in SSE fields, Redis channel names, log lines and JSON. Restricting them to a small
/// alphabet makes field injection (CR, LF, NUL) and log forging impossible by construction instead of
/// by escaping at every place they are written.
/// </remarks>
public static class ProtocolNames
{
    public const int MaxTopicLength = 128;
    public const int MaxEventNameLength = 64;

    /// <summary>Topics: 1-128 characters of <c>A-Z a-z 0-9 _ - . : @</c>, e.g. <c>dialog:42</c>.</summary>
    public static bool IsValidTopic(ReadOnlySpan<char> topic) => IsValid(topic, MaxTopicLength, allowAt: true);

    /// <summary>Event names: 1-64 characters of <c>A-Z a-z 0-9 _ - . :</c>, e.g. <c>message</c>, <c>typing</c>.</summary>
    public static bool IsValidEventName(ReadOnlySpan<char> name) => IsValid(name, MaxEventNameLength, allowAt: false);

    private static bool IsValid(ReadOnlySpan<char> value, int maxLength, bool allowAt)
    {
        if (value.IsEmpty || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':' || (allowAt && c == '@');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
