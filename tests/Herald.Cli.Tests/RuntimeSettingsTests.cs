using System.Text.Json;

namespace Herald.Cli.Tests;

/// <summary>
/// The runtime settings every build of <c>herald</c> ships with (<c>herald.runtimeconfig.json</c>, from
/// <c>Herald.Cli.csproj</c>), each chosen by a benchmark (docs/benchmarks.md, "Round three, fifth step").
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Fact]
    public void TheBuild_RunsAWorkstationConcurrentGC_AndThreadPoolWorkersThatDoNotSpin()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "herald.runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing: the herald build beside the tests has no runtime settings");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        // Workstation: per-core server heaps cost memory per idle connection.
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        // Concurrent: the full collection after a reconnect storm runs beside the streams, not in front of them.
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
        // No spinning before an idle worker waits: a fifth of the chat path's CPU, for no latency gained.
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }

    [Fact]
    public void TheSystemdUnit_GivesTheRuntimeA4MBGen0Budget()
    {
        // The runtime reads GCgen0size only from the environment (no runtimeconfig.json name), so the shipped unit
        // carries it; the bench starts Herald with the unit's DOTNET_ lines (ServerProcess.DeployedRuntimeEnvironment).
        var unit = File.ReadAllLines(Path.Combine(Herald.Testing.RepositoryPaths.Root, "deploy", "herald.service"));
        Assert.Contains("Environment=DOTNET_GCgen0size=0x400000", unit.Select(line => line.Trim()));
    }
}
