using Herald.Testing;

namespace Herald.Client.Tests.Infrastructure;

/// <summary>One Herald node, an operator token and an assistant, shared by the tests of a class.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public HeraldTestNode Node { get; private set; } = null!;

    public OperatorCredentials Operator { get; private set; } = null!;

    public long AssistantId { get; private set; }

    public async Task InitializeAsync()
    {
        Node = await HeraldTestNode.StartInProcessAsync();
        Operator = HeraldCredentials.Operator(await Node.LoginAsync());
        AssistantId = await Node.CreateAssistantAsync("Client tests");
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}
