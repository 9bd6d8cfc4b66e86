using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Testing;

/// <summary>
/// A Herald node as its own process (<c>dotnet herald.dll</c>), for what only a real process shows: signals
/// (SIGTERM drain, SIGKILL), exit codes, console output. Listens on a free loopback port it reports at start.
/// </summary>
public sealed partial class HeraldProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HeraldProcess(Process process)
    {
        _process = process;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts a node on <paramref name="dataDirectory"/> (Development environment, so the well-known admin exists)
    /// and waits until it listens. <paramref name="arguments"/> are extra <c>--Key=Value</c> options.
    /// </summary>
    public static async Task<HeraldProcess> StartAsync(string dataDirectory, IEnumerable<string>? arguments = null, TimeSpan? timeout = null)
    {
        var dll = RepositoryPaths.HeraldDll;
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} does not exist: build src/Herald.Server ({RepositoryPaths.Configuration}) first.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0", $"--Herald:Storage:DataDirectory={dataDirectory}" }.Concat(arguments ?? []))
        {
            start.ArgumentList.Add(arg);
        }

        var process = new HeraldProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet."));
        process._process.OutputDataReceived += (_, e) => process.OnLine(e.Data);
        process._process.ErrorDataReceived += (_, e) => process.OnLine(e.Data);
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            var exited = process._process.WaitForExitAsync(cts.Token);
            var first = await Task.WhenAny(process._listening.Task, exited);
            if (first != process._listening.Task)
            {
                throw new InvalidOperationException($"herald exited before listening:\n{process.Output}");
            }

            process.BaseAddress = await process._listening.Task;
        }
        catch (OperationCanceledException)
        {
            await process.DisposeAsync();
            throw new TimeoutException($"herald did not report where it listens within {limit}:\n{process.Output}");
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return process;
    }

    /// <summary>Sends SIGTERM, as systemd's stop does.</summary>
    public void Terminate() => Posix.Signal(_process.Id, Posix.SigTerm);

    /// <summary>Waits for the exit; false when it takes longer than <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        // StartupTasks logs "Herald listening on http://127.0.0.1:PORT (storage: ...)", in the simple and the JSON format.
        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
        }
    }

    [GeneratedRegex(@"Herald listening on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ListeningLine();
}
