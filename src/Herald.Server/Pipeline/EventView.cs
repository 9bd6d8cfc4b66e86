using Herald.Server.Events;

namespace Herald.Server.Pipeline;

/// <summary>
/// What one subscriber takes from its topics and the SSE bytes it writes for it, for streams that see the events
/// of a topic through a protocol of their own (Mercure: topic selectors, private updates, Mercure's frame). Streams
/// without a view take every event of their topics as Herald frames it.
/// </summary>
/// <remarks>
/// <see cref="Accepts"/> runs on the dispatcher's thread for every event of the subscriber's topics, before the event
/// is queued: what a view refuses costs the subscriber's queue nothing, so a stream that wants one topic of a busy
/// hub is not closed as a slow consumer for events it would never write.
/// </remarks>
public abstract class EventView
{
    /// <summary>Should this subscriber get <paramref name="item"/>? Must be cheap and must not throw.</summary>
    public abstract bool Accepts(HubEvent item);

    /// <summary>The bytes written for <paramref name="item"/>; computed once per event, shared by every connection.</summary>
    public abstract byte[] SseFrame(HubEvent item);

    /// <summary>The stream is registered (<c>Hub.StreamHost.TryOpen</c>): it receives events from now on. Must not block.</summary>
    public virtual void Opened(Subscriber subscriber)
    {
    }

    /// <summary>The stream is unregistered (<c>Hub.StreamHost.Close</c>), whatever ended it. Must not block.</summary>
    public virtual void Closed(Subscriber subscriber)
    {
    }
}
