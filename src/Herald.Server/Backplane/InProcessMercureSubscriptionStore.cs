namespace Herald.Server.Backplane;

/// <summary>One node: its subscriptions are all there is, and it announces every end itself.</summary>
public sealed class InProcessMercureSubscriptionStore : IMercureSubscriptionStore
{
    public Task AddAsync(string id, string document) => Task.CompletedTask;

    public Task<bool> RemoveAsync(string id) => Task.FromResult(true);

    public Task RefreshAsync(Func<IReadOnlyCollection<KeyValuePair<string, string>>> all, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<string>> ReadOthersAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);

    public Task<IReadOnlyList<string>> ClaimDeadAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<string>>([]);
}
