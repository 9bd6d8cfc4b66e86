using System.IO.Hashing;
using System.Text;
using StackExchange.Redis;

namespace Herald.Server.Backplane;

/// <summary>
/// Every Redis channel name Herald uses, in one place: a topic travels on <c>{TopicPrefix}{topic}</c> (default
/// <c>herald:topic:</c>) unless one of the <see cref="ChannelMapping"/>s the composition root gives (<c>HeraldApp</c>)
/// claims its namespace — there dialog topics keep seed 000's channel <c>ws:dialog:{id}</c>. In
/// <see cref="RedisChannelMode.Sharded"/> mode topics travel on <see cref="ShardChannelPrefix"/><c>{n}</c> instead, the
/// topic named in the payload. The backplane knows channels and payloads, not what a topic means.
/// </summary>
/// <remarks>
/// With <c>Herald:Redis:Subscribe=all</c> every node subscribes to everything (<see cref="Subscriptions"/>). With
/// <c>interest</c> a node subscribes to <see cref="MarkerChannel"/> and to <see cref="PublishChannelFor"/> of each topic it
/// has subscribers for: the topic's literal channel in classic mode (so <c>PSUBSCRIBE 'ws:dialog:*'</c> still sees every
/// chat message), the topic's shard channel in sharded mode.
/// </remarks>
public sealed class RedisChannels
{
    /// <summary>The shard channels of sharded mode are this followed by 0 … count-1.</summary>
    public const string ShardChannelPrefix = "herald:shard:";

    private readonly ChannelMapping[] _mappings;
    private readonly RedisChannel[] _shards;

    public RedisChannels(string topicPrefix, IReadOnlyList<ChannelMapping>? mappings = null, RedisChannelMode mode = RedisChannelMode.Classic, int shardChannels = 16,
        bool interest = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardChannels, 1);
        TopicPrefix = topicPrefix;
        Mode = mode;
        Interest = interest;
        // Outside every topic pattern (no marker is taken for an event), apart for each deployment sharing the Redis.
        MarkerChannel = mode == RedisChannelMode.Classic ? RedisChannel.Literal("herald-markers:" + topicPrefix) : RedisChannel.Sharded("herald-markers:" + topicPrefix);
        _mappings = mappings?.ToArray() ?? [];
        Patterns = [.. _mappings.Select(m => m.ChannelPrefix + "*"), TopicPrefix + "*"];
        _shards = [.. Enumerable.Range(0, shardChannels).Select(n => RedisChannel.Sharded(ShardChannelPrefix + n.ToString(System.Globalization.CultureInfo.InvariantCulture)))];
        Subscriptions = mode == RedisChannelMode.Classic ? [.. Patterns.Select(RedisChannel.Pattern)] : _shards;
    }

    public string TopicPrefix { get; }

    /// <summary>
    /// Where nodes send each other commands (<see cref="ControlMessage"/>): <c>herald-control:{TopicPrefix}</c>, outside
    /// every topic pattern (no control message is taken for an event) and apart for each deployment sharing the Redis.
    /// </summary>
    public string ControlChannel => "herald-control:" + TopicPrefix;

    /// <summary>The mode <c>Herald:Redis:ChannelMode</c> names (<c>classic</c>, <c>sharded</c>, any case), or null.</summary>
    public static RedisChannelMode? ParseMode(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "classic" => RedisChannelMode.Classic,
        "sharded" => RedisChannelMode.Sharded,
        _ => null,
    };

    public RedisChannelMode Mode { get; }

    /// <summary>The value <c>Herald:Redis:Subscribe</c> names: true for <c>interest</c>, false for <c>all</c> (any case), null for anything else.</summary>
    public static bool? ParseSubscribe(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "all" => false,
        "interest" => true,
        _ => null,
    };

    /// <summary>True when a node subscribes only to the topics it has subscribers for (<c>Herald:Redis:Subscribe=interest</c>).</summary>
    public bool Interest { get; }

    /// <summary>Where, in <see cref="Interest"/> mode, each commit batch's marker (ids and topics) goes; every node subscribes to it.</summary>
    public RedisChannel MarkerChannel { get; }

    /// <summary>The topic patterns of classic mode (what <c>redis-cli PSUBSCRIBE</c> would watch).</summary>
    public IReadOnlyList<string> Patterns { get; }

    /// <summary>What a node subscribes to: the patterns (classic) or every shard channel (sharded).</summary>
    public IReadOnlyList<RedisChannel> Subscriptions { get; }

    /// <summary>True when the channel does not say the topic, so the payload must (sharded mode).</summary>
    public bool TopicInPayload => Mode == RedisChannelMode.Sharded;

    /// <summary>The channel an event of <paramref name="topic"/> is published on.</summary>
    public RedisChannel PublishChannelFor(string topic) =>
        Mode == RedisChannelMode.Classic ? RedisChannel.Literal(ChannelFor(topic)) : _shards[ShardOf(topic)];

    /// <summary>The topic's own channel name, as classic mode publishes it.</summary>
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

    /// <summary>The topic of a classic channel, or null for channels that are not Herald's.</summary>
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

    // Stable across processes and versions (string.GetHashCode is randomized per process): every node must put a topic
    // on the same shard, so that one topic's events keep their order on one Redis connection.
    private int ShardOf(string topic)
    {
        Span<byte> buffer = stackalloc byte[512];
        var bytes = Encoding.UTF8.GetByteCount(topic) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(topic, buffer)] : Encoding.UTF8.GetBytes(topic);
        return (int)(XxHash32.HashToUInt32(bytes) % (uint)_shards.Length);
    }
}
