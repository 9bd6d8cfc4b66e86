using Herald.Bench.Targets;

namespace Herald.Bench.Scenarios;

/// <summary>
/// Where the chat scenario's pieces go. S3 runs everything on one node; S4 (<see cref="ScaleOutScenario"/>) posts
/// on the first node and spreads each dialog's subscribers over all nodes, so deliveries cross the backplane.
/// <paramref name="Services"/> names the shared processes besides the nodes (their CPU is not the nodes').
/// </summary>
internal sealed record ChatLayout(string Name, string Through, IReadOnlyList<ChatNode> Nodes, long TargetP99Micros, string Target, string? Services = null)
{
    /// <summary>S3: one server (Herald, Nchan or SignalR), the target of issue 2.</summary>
    public static ChatLayout SingleNode(ScenarioContext ctx) =>
        new("S3 chat", ctx.Target switch
            {
                HeraldTarget => "through the chat POST (SQLite)",
                MercureTarget => "through the Mercure publish POST (SQLite)",
                _ => "through its publish endpoint",
            },
            [new ChatNode("", ctx)], 10_000, "p99 ≤ 10 ms, 0 lost, 0 dup (issue 2)");

    /// <summary>The node publishers post to (and the dialogs are created on).</summary>
    public ScenarioContext Publisher => Nodes[0].Context;

    /// <summary>"S3", "S4": the progress line's prefix.</summary>
    public string ShortName => Name.Split(' ')[0];

    /// <summary>
    /// The node that holds subscriber <paramref name="subscriber"/> (0 the guest, 1 the operator) of dialog
    /// <paramref name="dialog"/>. Alternating by dialog, so with two nodes each dialog has one subscriber on each
    /// and each node holds guest and operator streams alike.
    /// </summary>
    public int NodeOf(int dialog, int subscriber) => (dialog + subscriber) % Nodes.Count;
}
