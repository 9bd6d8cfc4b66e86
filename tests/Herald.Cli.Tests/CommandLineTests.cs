using System.Diagnostics;

namespace Herald.Cli.Tests;

/// <summary>The <c>herald</c> command as a user runs it: a separate process, its exit code and what it prints.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_ListsEveryCommand_ExitsZero()
    {
        var (code, stdout, _) = await RunAsync("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "serve", "users", "doctor", "bridge", "testserver", "testclient" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "Unknown command 'frobnicate'", "herald --help")]
    [InlineData(new[] { "users", "add", "--password", "x" }, "Option '--email' is required", "herald users add --help")]
    [InlineData(new[] { "users", "remove" }, "Required command was not provided", "herald users --help")]
    [InlineData(new[] { "doctor" }, "Required argument 'base-url' missing", "herald doctor --help")]
    [InlineData(new[] { "doctor", "http://127.0.0.1:1", "--messages", "many" }, "--messages is 1-100", "herald doctor --help")]
    [InlineData(new[] { "testclient", "--url", "http://127.0.0.1:1/proxy" }, "is not a ws:// or wss:// URL", "herald testclient --help")]
    public async Task BadUsage_NamesTheProblemAndTheHelp_ExitsTwo(string[] args, string reason, string help)
    {
        var (code, _, stderr) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.Contains($"Run '{help}' for usage.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bridge_SettingsFileThatIsNotJson_IsAUsageErrorNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"herald-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, "{ not json");
        try
        {
            var (code, _, stderr) = await RunAsync("bridge", "--settings", path);
            Assert.Equal(2, code);
            Assert.Contains("Invalid bridge settings", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "herald.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
