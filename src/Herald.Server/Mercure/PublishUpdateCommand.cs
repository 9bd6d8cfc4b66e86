using Herald.Server.Pipeline;

namespace Herald.Server.Mercure;

/// <summary>A Mercure update (<c>POST /.well-known/mercure</c>): one stored event on <see cref="MercureUpdate.HeraldTopic"/>.</summary>
public sealed class PublishUpdateCommand(byte[] payload, long key) : WriteCommand<PendingEvent>
{
    protected override Task<PendingEvent> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        Task.FromResult(context.Emit(MercureUpdate.HeraldTopic, MercureUpdate.EventType, payload, key));
}
