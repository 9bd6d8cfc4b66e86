namespace Herald.Server.Backplane;

/// <summary>
/// Shares each node's presence (who is connected to which topic, how many connections it holds) with the other nodes,
/// and carries control messages between them (disconnect a user everywhere). The node's own state never goes through
/// it: the reader merges its local view with what the store says about the <em>other</em> live nodes.
/// </summary>
/// <remarks>
/// The in-process store is for a single node (there are no others); the Redis store keeps per-node hashes that expire
/// when a node stops refreshing them, so a node that died takes its users with it within <c>Herald:Presence:Ttl</c>.
/// </remarks>
public interface IPresenceStore
{
    /// <summary>This node's id on the backplane (the same the event bus uses where there is one).</summary>
    string NodeId { get; }

    /// <summary>Raised for a control message another node published. Handlers must not block.</summary>
    event Action<ControlMessage>? ControlReceived;

    /// <summary>
    /// Writes what changed on this node since the last call and refreshes its liveness. Called once per interval. False
    /// when the store may have lost what was written before (not connected, a failure, a reconnect): the next update
    /// must carry every topic.
    /// </summary>
    Task<bool> WriteAsync(NodePresenceUpdate update, CancellationToken cancellationToken);

    /// <summary>Subject key → connections on topic <paramref name="topic"/>, summed over the other live nodes.</summary>
    Task<Dictionary<string, long>> ReadTopicAsync(string topic, CancellationToken cancellationToken);

    /// <summary>Topic → connections, summed over the other live nodes.</summary>
    Task<Dictionary<string, long>> ReadTopicsAsync(CancellationToken cancellationToken);

    /// <summary>The other live nodes and their connection counts.</summary>
    Task<IReadOnlyList<NodeCounts>> ReadNodesAsync(CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="message"/> to every other node (fire and forget: a node that is down has no connections to act on).</summary>
    Task PublishControlAsync(ControlMessage message, CancellationToken cancellationToken);
}
