using Herald.Server.Dialogs;

namespace Herald.Server.Backplane;

/// <summary>
/// Every Redis channel name Herald uses, in one place. Dialog topics keep seed 000's channel
/// <c>ws:dialog:{id}</c>, so <c>redis-cli PSUBSCRIBE "ws:dialog:*"</c> shows chat traffic exactly where the seed's
/// runbook looks for it; every other topic goes to <c>{ChannelPrefix}{topic}</c> (default <c>herald:topic:</c>).
/// </summary>
public sealed class RedisChannels(string topicPrefix)
{
    public const string DialogPrefix = "ws:dialog:";

    public string TopicPrefix { get; } = topicPrefix;

    /// <summary>The patterns a node subscribes to: every node sees every event, which keeps ids in order per node.</summary>
    public IReadOnlyList<string> Patterns => [DialogPrefix + "*", TopicPrefix + "*"];

    public string ChannelFor(string topic) =>
        topic.StartsWith(DialogTopics.Prefix, StringComparison.Ordinal) ? DialogPrefix + topic[DialogTopics.Prefix.Length..] : TopicPrefix + topic;

    /// <summary>The topic of a channel, or null for channels that are not Herald's.</summary>
    public string? TopicFor(string channel) =>
        channel.StartsWith(DialogPrefix, StringComparison.Ordinal) ? DialogTopics.Prefix + channel[DialogPrefix.Length..]
        : channel.StartsWith(TopicPrefix, StringComparison.Ordinal) ? channel[TopicPrefix.Length..]
        : null;
}
