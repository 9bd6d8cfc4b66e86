using Herald.Server.Pipeline;

namespace Herald.Server.Topics;

/// <summary>A generic durable event (<c>POST /api/publish</c>).</summary>
public sealed class PublishEventCommand(string topic, string type, byte[] data) : WriteCommand<PendingEvent>
{
    protected override Task<PendingEvent> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        Task.FromResult(context.Emit(topic, type, data));
}
