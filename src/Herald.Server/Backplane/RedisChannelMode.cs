namespace Herald.Server.Backplane;

/// <summary>How events travel on Redis (<c>Herald:Redis:ChannelMode</c>; docs/deploy.md says which to pick).</summary>
public enum RedisChannelMode
{
    /// <summary>
    /// PUBLISH on each topic's own channel (<c>ws:dialog:{id}</c>, <c>{prefix}{topic}</c>), PSUBSCRIBE to their patterns:
    /// seed 000's <c>redis-cli PSUBSCRIBE 'ws:dialog:*'</c> shows every chat message. On a Cluster every PUBLISH is
    /// broadcast to every shard, so the Cluster adds no pub/sub capacity.
    /// </summary>
    Classic,

    /// <summary>
    /// SPUBLISH/SSUBSCRIBE (Redis 7) on a fixed set of shard channels (<c>herald:shard:{n}</c>), each topic always on the
    /// same one: on a Cluster each message goes to one shard only, so pub/sub capacity grows with the shards.
    /// </summary>
    Sharded,
}
