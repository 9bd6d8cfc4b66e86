using Herald.Server.Events;

namespace Herald.Server.Backplane;

/// <summary>
/// Where a bus hands the events it carries on this node: the pipeline's dispatcher, which delivers them to
/// subscribers once and in id order. The bus carries events; what happens to them next is not its business.
/// </summary>
public interface IEventSink
{
    /// <summary>Takes one event (durable or ephemeral) from the bus. Must not block.</summary>
    void Deliver(HubEvent item);
}
