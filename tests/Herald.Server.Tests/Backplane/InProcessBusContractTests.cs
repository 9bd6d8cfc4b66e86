using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Tests.Backplane;

/// <summary>The single-node bus: a loopback into the node's own dispatcher.</summary>
public sealed class InProcessBusContractTests : BusContractTests
{
    protected override string ConnectedState => "disabled";

    protected override Task<IEventBus> StartBusAsync(EventDispatcher dispatcher, HeraldMetrics metrics) => Task.FromResult<IEventBus>(new InProcessBus(dispatcher));

    protected override Task StopBusAsync(IEventBus bus) => Task.CompletedTask;
}
