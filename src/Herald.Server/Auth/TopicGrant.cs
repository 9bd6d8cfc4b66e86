using System.Text.Json;
using Herald.Protocol;

namespace Herald.Server.Auth;

/// <summary>
/// The topics an app token names in one list (<c>subscribe</c> or <c>publish</c>): exact names (<c>user:42</c>) and
/// prefix patterns, a name ending in <c>*</c> (<c>orders:*</c> = every topic starting <c>orders:</c>; <c>*</c> alone =
/// every topic). Reserved topics are outside every grant: <see cref="AccessService"/> checks
/// <see cref="ReservedTopics"/> before it asks the grant, so no pattern reaches chat.
/// </summary>
public sealed class TopicGrant
{
    /// <summary>Most entries one list may hold: each topic check walks the list.</summary>
    public const int MaxEntries = 64;

    private readonly string[] _names;
    private readonly string[] _prefixes;

    private TopicGrant(string[] names, string[] prefixes)
    {
        _names = names;
        _prefixes = prefixes;
    }

    /// <summary>A grant of nothing (a token without <c>publish</c>).</summary>
    public static TopicGrant None { get; } = new([], []);

    /// <summary>Does the grant name <paramref name="topic"/>, exactly or by a prefix pattern?</summary>
    public bool Allows(string topic)
    {
        if (Array.IndexOf(_names, topic) >= 0)
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (topic.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Reads one claim list: an array of strings, each a topic name or a topic name's start followed by one
    /// <c>*</c>. Anything else (another JSON type, <c>*</c> inside a name, a character topics cannot have, more than
    /// <see cref="MaxEntries"/>) makes the token invalid, with the reason.
    /// </summary>
    public static (TopicGrant? Grant, string? Error) Parse(JsonElement list, string claim)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            return (null, $"'{claim}' must be an array of topic names and patterns");
        }

        if (list.GetArrayLength() > MaxEntries)
        {
            return (null, $"'{claim}' has more than {MaxEntries} entries");
        }

        List<string> names = [];
        List<string> prefixes = [];
        foreach (var entry in list.EnumerateArray())
        {
            var value = entry.ValueKind == JsonValueKind.String ? entry.GetString()! : null;
            if (value is { Length: > 0 } && value[^1] == '*' && value.IndexOf('*') == value.Length - 1
                && (value.Length == 1 || ProtocolNames.IsValidTopic(value.AsSpan(0, value.Length - 1))))
            {
                prefixes.Add(value[..^1]);
            }
            else if (value is not null && ProtocolNames.IsValidTopic(value))
            {
                names.Add(value);
            }
            else
            {
                return (null, $"'{claim}' entries are topic names or a name's start followed by '*'");
            }
        }

        return (new TopicGrant([.. names], [.. prefixes]), null);
    }
}
