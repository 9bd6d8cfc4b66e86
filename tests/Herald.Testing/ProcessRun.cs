using System.Diagnostics;

namespace Herald.Testing;

/// <summary>Runs a command to its end within a time limit and gives its exit code and output (for commands a user types: herald, dotnet).</summary>
public static class ProcessRun
{
    /// <summary>
    /// Runs <paramref name="start"/> (its output redirected here) and waits for it to exit; past <paramref name="timeout"/>
    /// the process tree is killed and <see cref="TimeoutException"/> carries what it printed.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // A command that should have ended is still running: never leave it behind the test.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not exit within {timeout}:\n{await stdout}\n{await stderr}");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A <see cref="ProcessStartInfo"/> for <paramref name="fileName"/> with <paramref name="args"/>, run in <paramref name="workingDirectory"/>.</summary>
    public static ProcessStartInfo Command(string fileName, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, UseShellExecute = false };
        // Under `dotnet test` the test host inherits MSBuild's variables (MSBuildExtensionsPath, MSBUILD_EXE_PATH, ...);
        // a `dotnet pack` or `dotnet run` started from a test would build with the test run's MSBuild instead of its own.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }
}
