namespace Herald.Bench.Load;

/// <summary>One subscriber to open: its request target (SSE path or SignalR group) and the topic index it listens to.</summary>
internal readonly record struct Subscription(string Target, int Topic);
