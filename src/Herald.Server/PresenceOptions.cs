namespace Herald.Server;

/// <summary>
/// <c>Herald:Presence</c>: who is connected to a topic, on every node (<c>Hub/PresenceService</c>). docs/deploy.md,
/// "Presence", explains each setting and what it costs in Redis.
/// </summary>
public sealed class PresenceOptions
{
    /// <summary>
    /// How often a node writes what changed to Redis, refreshes its liveness and sends <c>presence</c> events: a join
    /// or a leave is seen on other nodes, and announced, within this.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a node's presence outlives its last refresh: the users of a node that died (kill -9, lost network)
    /// disappear from every answer within this. At least twice <see cref="Interval"/>.
    /// </summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Topics whose subscribers receive <c>presence</c> events: exact names, or prefixes ending in <c>*</c>
    /// (<c>room:*</c>). Empty (the default): no topic sends them; presence is still answered on request.
    /// </summary>
    public string[] EventTopics { get; set; } = [];

    /// <summary>
    /// Most subjects one <c>presence</c> event names as joined or left; beyond it the event carries counts only
    /// (<c>"truncated":true</c>), so a crowd joining at once costs one small event per interval, not one per person.
    /// </summary>
    public int MaxListedSubjects { get; set; } = 20;

    /// <summary>Prefix of the Redis keys that hold presence (Herald:Redis set).</summary>
    public string KeyPrefix { get; set; } = "herald:presence:";
}
