using System.Diagnostics.Metrics;
using System.Text;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Herald.Server.Storage;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Server.Tests.Backplane;

/// <summary>The single-node bus: a loopback into the node's own dispatcher.</summary>
public sealed class InProcessBusContractTests : BusContractTests
{
    protected override string ConnectedState => "disabled";

    protected override Task<IEventBus> StartBusAsync(EventDispatcher dispatcher, HeraldMetrics metrics) => Task.FromResult<IEventBus>(new InProcessBus(dispatcher));

    protected override Task StopBusAsync(IEventBus bus) => Task.CompletedTask;
}
