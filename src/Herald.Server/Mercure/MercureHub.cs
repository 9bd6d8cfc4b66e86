namespace Herald.Server.Mercure;

/// <summary>The category of the hub's log lines (<see cref="MercureLog"/>): <c>ILogger&lt;MercureHub&gt;</c>, one per node.</summary>
public sealed class MercureHub;
