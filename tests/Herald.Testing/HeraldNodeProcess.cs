using System.Diagnostics;
using System.Text;

namespace Herald.Testing;

/// <summary>
/// A Herald node as a separate process (<c>dotnet herald.dll</c>), for tests where nodes must be independent:
/// two nodes behind one Redis and one PostgreSQL, kill -9, graceful drain. Loopback only.
/// </summary>
public sealed class HeraldNodeProcess : IAsyncDisposable
{
    private readonly string _dll;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private HeraldNodeProcess(string dll, int port, IReadOnlyDictionary<string, string> settings)
    {
        _dll = dll;
        Port = port;
        _settings = settings;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int? ProcessId => _process?.Id;

    /// <summary>Everything the node printed so far (for failure messages).</summary>
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
    /// Starts a node from <c>herald.dll</c> next to the test assembly (the test project references src/Herald.Cli, the `herald` command)
    /// with <paramref name="settings"/> as <c>--Key=value</c> configuration, in Development.
    /// </summary>
    public static async Task<HeraldNodeProcess> StartAsync(IReadOnlyDictionary<string, string> settings, int? port = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "herald.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} not found: the test project must reference src/Herald.Cli (the herald command).");
        }

        var node = new HeraldNodeProcess(dll, port ?? LoopbackPort.GetFree(), settings);
        await node.StartAsync();
        return node;
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(_dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        foreach (var (key, value) in _settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["DOTNET_gcServer"] = "0";
        _process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Herald node exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri(BaseAddress, "/api/sse/health"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Herald node on {BaseAddress} did not become healthy in 45 s:\n{Output}");
    }

    /// <summary>SIGKILL: the node dies mid-whatever, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM: a graceful stop. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return _process?.ExitCode ?? 0;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]))
        {
            await kill!.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Herald node did not exit within {timeout} of SIGTERM:\n{Output}");
        }

        return process.ExitCode;
    }

    public async Task RestartAsync()
    {
        await KillAsync();
        _process?.Dispose();
        await StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 200_000)
            {
                _output.AppendLine(line);
            }
        }
    }
}
