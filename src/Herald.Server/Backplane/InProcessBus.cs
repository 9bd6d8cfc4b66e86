using Herald.Server.Events;

namespace Herald.Server.Backplane;

/// <summary>The single-node bus: delivers straight to this node's dispatcher.</summary>
public sealed class InProcessBus(IEventSink dispatcher) : IEventBus
{
    public string State => "disabled";

    public void Publish(IReadOnlyList<HubEvent> events)
    {
        foreach (var item in events)
        {
            dispatcher.Deliver(item);
        }
    }
}
