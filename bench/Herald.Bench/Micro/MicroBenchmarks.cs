using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Herald.Bench.Micro;

/// <summary>
/// BenchmarkDotNet entry: <c>micro [--filter *] [other BenchmarkDotNet options]</c>.
/// </summary>
internal static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        // Without a filter BenchmarkSwitcher asks on the console; default to everything.
        if (!args.Any(a => a.StartsWith("--filter", StringComparison.Ordinal) || a == "-f"))
        {
            args = [.. args, "--filter", "*"];
        }

        // In process by default: the out-of-process toolchain builds a generated project per run, and on these
        // shared 2-core machines that build has hit BenchmarkDotNet's build timeout. --outOfProcess opts back.
        if (args.Contains("--outOfProcess"))
        {
            args = args.Where(a => a != "--outOfProcess").ToArray();
        }
        else if (!args.Contains("--inProcess") && !args.Contains("-i"))
        {
            args = [.. args, "--inProcess"];
        }

        var config = DefaultConfig.Instance
            .WithArtifactsPath(Path.Combine(LoadRunner.RepoRoot(), "artifacts", "BenchmarkDotNet"));
        var summaries = BenchmarkSwitcher.FromTypes([typeof(SseFrameBenchmarks), typeof(FanOutBenchmarks)]).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
