using Herald.Server.Pipeline;

namespace Herald.Server.Topics;

/// <summary>One generic durable event to many topics (<c>POST /api/broadcast</c>): stored in one transaction, all or none.</summary>
public sealed class PublishManyCommand(IReadOnlyList<string> topics, string type, byte[] data) : WriteCommand<IReadOnlyList<PendingEvent>>
{
    protected override Task<IReadOnlyList<PendingEvent>> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<PendingEvent>>([.. topics.Select(topic => context.Emit(topic, type, data))]);
}
