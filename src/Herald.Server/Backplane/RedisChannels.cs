namespace Herald.Server.Backplane;

/// <summary>
/// Every Redis channel name Herald uses, in one place: a topic travels on <c>{TopicPrefix}{topic}</c> (default
/// <c>herald:topic:</c>) unless one of the <see cref="ChannelMapping"/>s the composition root gives (<c>HeraldApp</c>)
/// claims its namespace — there dialog topics keep seed 000's channel <c>ws:dialog:{id}</c>. The backplane knows
/// channels and payloads, not what a topic means.
/// </summary>
public sealed class RedisChannels
{
    private readonly ChannelMapping[] _mappings;

    public RedisChannels(string topicPrefix, IReadOnlyList<ChannelMapping>? mappings = null)
    {
        TopicPrefix = topicPrefix;
        _mappings = mappings?.ToArray() ?? [];
        Patterns = [.. _mappings.Select(m => m.ChannelPrefix + "*"), TopicPrefix + "*"];
    }

    public string TopicPrefix { get; }

    /// <summary>
    /// Where nodes send each other commands (<see cref="ControlMessage"/>): <c>herald-control:{TopicPrefix}</c>, outside
    /// every topic pattern (no control message is taken for an event) and apart for each deployment sharing the Redis.
    /// </summary>
    public string ControlChannel => "herald-control:" + TopicPrefix;

    /// <summary>The patterns a node subscribes to: every node sees every event, which keeps ids in order per node.</summary>
    public IReadOnlyList<string> Patterns { get; }

    public string ChannelFor(string topic)
    {
        foreach (var mapping in _mappings)
        {
            if (topic.StartsWith(mapping.TopicPrefix, StringComparison.Ordinal))
            {
                return mapping.ChannelPrefix + topic[mapping.TopicPrefix.Length..];
            }
        }

        return TopicPrefix + topic;
    }

    /// <summary>The topic of a channel, or null for channels that are not Herald's.</summary>
    public string? TopicFor(string channel)
    {
        foreach (var mapping in _mappings)
        {
            if (channel.StartsWith(mapping.ChannelPrefix, StringComparison.Ordinal))
            {
                return mapping.TopicPrefix + channel[mapping.ChannelPrefix.Length..];
            }
        }

        return channel.StartsWith(TopicPrefix, StringComparison.Ordinal) ? channel[TopicPrefix.Length..] : null;
    }
}
