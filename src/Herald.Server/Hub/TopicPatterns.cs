using Herald.Protocol;

namespace Herald.Server.Hub;

/// <summary>
/// Topic selectors of a setting: an exact topic name, or a prefix ending in <c>*</c> (<c>room:*</c>). A bare <c>*</c>
/// matches every topic.
/// </summary>
public sealed class TopicPatterns
{
    private readonly HashSet<string> _exact;
    private readonly string[] _prefixes;

    private TopicPatterns(HashSet<string> exact, string[] prefixes)
    {
        _exact = exact;
        _prefixes = prefixes;
    }

    public bool IsEmpty => _exact.Count == 0 && _prefixes.Length == 0;

    /// <summary>Parses <paramref name="patterns"/>; throws <see cref="InvalidOperationException"/> naming <paramref name="setting"/> and the bad entry.</summary>
    public static TopicPatterns Parse(IEnumerable<string>? patterns, string setting)
    {
        var exact = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new List<string>();
        foreach (var pattern in patterns ?? [])
        {
            var prefix = pattern.EndsWith('*') ? pattern[..^1] : null;
            if (prefix is not null && (prefix.Length == 0 || ProtocolNames.IsValidTopic(prefix)))
            {
                prefixes.Add(prefix);
            }
            else if (ProtocolNames.IsValidTopic(pattern))
            {
                exact.Add(pattern);
            }
            else
            {
                throw new InvalidOperationException(
                    $"{setting} has '{pattern}', which is neither a topic name nor a prefix ending in '*' (such as room:*)");
            }
        }

        return new TopicPatterns(exact, [.. prefixes]);
    }

    public bool Matches(string topic)
    {
        if (_exact.Contains(topic))
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
}
