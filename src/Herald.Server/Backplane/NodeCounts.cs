namespace Herald.Server.Backplane;

/// <summary>A node and its connection counts (<c>connections</c>, then one per transport).</summary>
public sealed record NodeCounts(string NodeId, IReadOnlyDictionary<string, long> Counts);
