using System.Diagnostics;

namespace Herald.Cli.Tests;

/// <summary>Runs <c>dotnet herald.dll ...</c> as a user would and gives its exit code and output; a run past 60 s is killed.</summary>
internal static class HeraldCli
{
    /// <summary>A signing key for runs outside Development, where the node requires one.</summary>
    public const string ProductionKey = "--Herald:Auth:SigningKey=a-production-signing-key-of-at-least-32-bytes";

    /// <summary>The one line <paramref name="stderr"/> must consist of.</summary>
    public static string OneLine(string stderr) => Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunWithAsync([], args);

    public static async Task<(int Code, string Stdout, string Stderr)> RunWithAsync(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "herald.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A command that should have failed fast is serving: do not leave it running after the test.
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
