using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;

namespace Herald.Server.Pipeline;

/// <summary>
/// The pipeline's front door for publishers: durable events, as the <see cref="WriteCommand"/>s that emit them, go
/// through the <see cref="EventWriter"/> (stored, then delivered); ephemeral ones (typing indicators) straight to the bus.
/// </summary>
/// <remarks>
/// Publishers (the chat API, <c>POST /api/publish</c>, widget tokens, the demo) need this one type and never choose
/// between the writer and the bus themselves: an ephemeral event is counted and built here, once.
/// </remarks>
public sealed class EventHub(EventWriter writer, IEventBus bus, HeraldMetrics metrics)
{
    /// <summary>Runs a write command; its events are delivered once it has committed.</summary>
    public Task<T> ExecuteAsync<T>(WriteCommand<T> command, CancellationToken ct = default) => writer.ExecuteAsync(command, ct);

    /// <summary>Delivers an event that is not stored and has no id (it is never replayed).</summary>
    public void PublishEphemeral(string topic, string type, byte[] data)
    {
        metrics.EventsPublished.Add(1);
        bus.Publish([new HubEvent(0, topic, type, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())]);
    }
}
