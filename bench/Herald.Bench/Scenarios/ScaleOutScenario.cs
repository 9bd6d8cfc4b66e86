using Herald.Bench.Load;
using Herald.Bench.Report;

namespace Herald.Bench.Scenarios;

/// <summary>
/// S4: S3 (<see cref="ChatScenario"/>) on two nodes sharing PostgreSQL and Redis (<see cref="HeraldCluster"/>).
/// Dialogs are created and messages posted on node A only; of each dialog's two subscribers one is held on A and
/// one on B, so half of all deliveries cross the Redis backplane. Reports S3's figures, plus each node's CPU, RSS
/// and the latency of the subscribers it holds. Target (issue 3): p99 ≤ 50 ms at 1,000 messages/s, 0 lost, 0 duplicated.
/// </summary>
internal static class ScaleOutScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchOptions options)
    {
        if (options.String("url") is not null)
        {
            throw new InvalidOperationException("S4 starts its own two nodes, PostgreSQL and Redis; --url is not supported.");
        }

        await using var cluster = await HeraldCluster.StartAsync(options, 2);
        var nodes = new List<ChatNode>();
        try
        {
            foreach (var (target, name) in cluster.Nodes.Zip(["A", "B"]))
            {
                var monitor = target.Server.Pid is { } pid && !options.Flag("no-runtime-monitor") ? RuntimeMonitor.TryStart(pid) : null;
                nodes.Add(new ChatNode(name, new ScenarioContext(options, target, monitor)));
            }

            var result = await ChatScenario.RunAsync(new ChatLayout("S4 scale-out", "through the chat POST on A (PostgreSQL + Redis; subscribers on A and B)", nodes,
                50_000, "p99 ≤ 50 ms, 0 lost, 0 dup (issue 3)", "PostgreSQL and Redis"));
            result.TargetDescription = cluster.Description;
            if (options.Flag("keep-data"))
            {
                result.Notes.AddRange(cluster.Nodes.Select(n => $"server log: {n.Server.LogFile}"));
            }

            return result;
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node.Context.Runtime is { } monitor)
                {
                    await monitor.DisposeAsync();
                }
            }
        }
    }
}
