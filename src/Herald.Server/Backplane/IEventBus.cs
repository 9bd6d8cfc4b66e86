using Herald.Server.Events;

namespace Herald.Server.Backplane;

/// <summary>
/// Carries events to every node's <see cref="IEventSink"/> (its dispatcher), including this node's own.
/// </summary>
/// <remarks>
/// The in-process bus is a loopback; the Redis bus (issue "Scale out") publishes to Redis and delivers the
/// local copy directly, relying on the dispatcher to drop the echo by id.
/// </remarks>
public interface IEventBus
{
    /// <summary><c>disabled</c> (no backplane), <c>connected</c> or <c>disconnected</c>, as /api/sse/health reports it.</summary>
    string State { get; }

    /// <summary>Publishes events (committed durable ones in id order, or ephemeral ones). Never blocks on the network.</summary>
    void Publish(IReadOnlyList<HubEvent> events);
}
