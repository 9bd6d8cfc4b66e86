namespace Herald.Server.Backplane;

/// <summary>
/// Shares this node's active Mercure subscriptions (<c>Mercure/MercureSubscriptions</c>) with the other nodes, and
/// decides who announces a subscription's end: whoever removes it from the store, exactly one node. The node's own
/// subscriptions never come back through it: the reader merges its local list with the other live nodes'.
/// </summary>
/// <remarks>
/// <see cref="AddAsync"/>, <see cref="RemoveAsync"/> and <see cref="RefreshAsync"/> send their commands before they
/// return their task: a caller that calls them under one lock has them reach the store in that order (an add or remove
/// lands before or after a full rewrite, never inside it).
/// </remarks>
public interface IMercureSubscriptionStore
{
    /// <summary>Records a subscription of this node (<paramref name="document"/>: its JSON, keyed by <paramref name="id"/>).</summary>
    Task AddAsync(string id, string document);

    /// <summary>
    /// Removes a subscription of this node; true when this call removed it (the caller announces its end), false when
    /// another node already did (it took this node for dead). True when the store cannot be reached: the next
    /// <see cref="RefreshAsync"/> writes the node's list again without it.
    /// </summary>
    Task<bool> RemoveAsync(string id);

    /// <summary>
    /// Once per interval: keeps this node's subscriptions alive, and writes them all (<paramref name="all"/>) when the store
    /// may have lost them (a reconnect, a failed write).
    /// </summary>
    Task RefreshAsync(Func<IReadOnlyCollection<KeyValuePair<string, string>>> all, CancellationToken cancellationToken);

    /// <summary>The subscription documents of the other live nodes. Throws <see cref="BackplaneUnavailableException"/>.</summary>
    Task<IReadOnlyList<string>> ReadOthersAsync(CancellationToken cancellationToken);

    /// <summary>The subscriptions of nodes that died (their liveness expired), taken atomically: one caller gets each.</summary>
    Task<IReadOnlyList<string>> ClaimDeadAsync(CancellationToken cancellationToken);
}
