using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Hub;

/// <summary>
/// The hub's front door for publishers: durable events go through the <see cref="EventWriter"/> (stored,
/// then delivered), ephemeral ones (typing indicators) straight to the bus.
/// </summary>
public sealed class EventHub(EventWriter writer, IEventBus bus, HeraldMetrics metrics)
{
    /// <summary>Runs a write command; its events are delivered once it has committed.</summary>
    public async Task<T> ExecuteAsync<T>(WriteCommand<T> command, CancellationToken ct = default)
    {
        var result = await writer.ExecuteAsync(command, ct);
        return result;
    }

    /// <summary>Stores and delivers one event on a topic; returns its id.</summary>
    public async Task<long> PublishDurableAsync(string topic, string type, byte[] data, CancellationToken ct = default)
    {
        var pending = await writer.ExecuteAsync(new PublishEventCommand(topic, type, data), ct);
        return pending.Id;
    }

    /// <summary>Delivers an event that is not stored and has no id (it is never replayed).</summary>
    public void PublishEphemeral(string topic, string type, byte[] data)
    {
        metrics.EventsPublished.Add(1);
        bus.Publish([new HubEvent(0, topic, type, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())]);
    }
}

/// <summary>A generic durable event (<c>POST /api/publish</c>).</summary>
public sealed class PublishEventCommand(string topic, string type, byte[] data) : WriteCommand<PendingEvent>
{
    protected override Task<PendingEvent> RunAsync(WriteContext context, CancellationToken cancellationToken) =>
        Task.FromResult(context.Emit(topic, type, data));
}
