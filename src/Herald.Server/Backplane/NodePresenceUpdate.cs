namespace Herald.Server.Backplane;

/// <summary>
/// What one node tells the others once per interval: its connection counts, and the full subject list (subject key →
/// connections) of each topic that changed since the last update (null: no longer served here).
/// </summary>
public sealed record NodePresenceUpdate(
    IReadOnlyDictionary<string, long> Counts,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>?> ChangedTopics);
