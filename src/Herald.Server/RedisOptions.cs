namespace Herald.Server;

public sealed class RedisOptions
{
    /// <summary>
    /// Where the backplane is: a URL, <c>redis://[user:password@]host:port[/db]</c> or <c>rediss://</c> (TLS), or a
    /// StackExchange.Redis configuration string — <c>host1:6379,host2:6379,password=…,ssl=true</c> for a Cluster (any of
    /// its nodes), <c>sentinel1:26379,sentinel2:26379,serviceName=mymaster</c> for Sentinel. Empty disables the backplane.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>Channel prefix for topics that are not dialogs (dialogs use <c>ws:dialog:{id}</c>).</summary>
    public string ChannelPrefix { get; set; } = "herald:topic:";

    /// <summary>
    /// <c>classic</c> (PUBLISH/PSUBSCRIBE on each topic's channel, what seed 000's runbook watches) or <c>sharded</c>
    /// (SPUBLISH/SSUBSCRIBE on <see cref="ShardChannels"/> channels spread over a Cluster's shards; Redis 7 or newer).
    /// </summary>
    public string ChannelMode { get; set; } = "classic";

    /// <summary>
    /// <c>all</c> (every node subscribes to every topic's events and decodes all of them) or <c>interest</c> (a node
    /// subscribes to the channels of the topics it has subscribers for, and learns of every other event from a small
    /// commit marker: its per-message cost follows its own subscribers' traffic). Every node of a deployment should use
    /// the same value; docs/scaling.md, "How a node knows it has every event", explains <c>interest</c>.
    /// </summary>
    public string Subscribe { get; set; } = "interest";

    /// <summary>
    /// In <c>interest</c> mode, how long a node stays subscribed to a topic's channel after its last subscriber left, so
    /// that a client reconnecting at once does not cost an UNSUBSCRIBE and a SUBSCRIBE.
    /// </summary>
    public TimeSpan InterestLinger { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// In <c>interest</c> mode, how long a node gathers its committed batches into one commit marker (0: one marker per
    /// round of the publish loop). Every other node receives every marker, and its cost is per Redis message, not per id
    /// (docs/benchmarks.md, S6): a marker per 2 ms instead of one per batch is what keeps a node with no subscribers
    /// nearly idle. The price: an event reaches another node's subscribers up to this much later, since a node delivers
    /// an id only once every id below it is accounted for.
    /// </summary>
    public TimeSpan MarkerInterval { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How many shard channels <c>sharded</c> mode spreads topics over; every node must use the same number.</summary>
    public int ShardChannels { get; set; } = 16;

    /// <summary>
    /// A PEM certificate (a private CA, or a self-signed server certificate) trusted for TLS connections to Redis in
    /// addition to the system's trust store; empty trusts the system store alone.
    /// </summary>
    public string? TlsCaFile { get; set; }
}
