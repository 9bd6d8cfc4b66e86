namespace Herald.Server.Backplane;

/// <summary>One node, no others: nothing to share, and every read about "the other nodes" is empty.</summary>
public sealed class InProcessPresenceStore : IPresenceStore
{
    public string NodeId { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    public event Action<ControlMessage>? ControlReceived
    {
        add { }
        remove { }
    }

    public Task<bool> WriteAsync(NodePresenceUpdate update, CancellationToken cancellationToken) => Task.FromResult(true);

    public Task<Dictionary<string, long>> ReadTopicAsync(string topic, CancellationToken cancellationToken) => Task.FromResult(new Dictionary<string, long>());

    public Task<Dictionary<string, long>> ReadTopicsAsync(CancellationToken cancellationToken) => Task.FromResult(new Dictionary<string, long>());

    public Task<IReadOnlyList<NodeCounts>> ReadNodesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<NodeCounts>>([]);

    public Task PublishControlAsync(ControlMessage message, CancellationToken cancellationToken) => Task.CompletedTask;
}
