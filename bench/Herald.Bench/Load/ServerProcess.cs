using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Herald.Bench.Load;

/// <summary>
/// A Herald server under test: either started here (the Release build, a temporary data directory, a free
/// loopback port) and stopped after the scenario, or an already running one given by URL (and PID, for
/// memory and CPU figures).
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _dataDirectory;
    private readonly bool _keepData;

    private ServerProcess(Uri baseAddress, int? pid, Process? process, string? dataDirectory, string? logFile, bool keepData)
    {
        BaseAddress = baseAddress;
        Pid = pid;
        _process = process;
        _dataDirectory = dataDirectory;
        LogFile = logFile;
        _keepData = keepData;
    }

    public Uri BaseAddress { get; }

    public int Port => BaseAddress.Port;

    /// <summary>The process whose memory and CPU are the server's figures.</summary>
    public int? Pid { get; private set; }

    public string? LogFile { get; }

    public ProcSample? Sample() => Pid is { } pid ? ProcSample.Read(pid) : null;

    public static ServerProcess Attach(Uri url, int? pid) => new(url, pid, null, null, null, keepData: true);

    public static async Task<ServerProcess> StartAsync(string serverDll, IReadOnlyList<string> extraArgs, IReadOnlyList<string> environment, bool keepData, CancellationToken ct)
    {
        if (!File.Exists(serverDll))
        {
            throw new FileNotFoundException($"Herald server build not found at {serverDll}; build it with: dotnet build -c Release src/Herald.Server", serverDll);
        }

        var port = FreePort();
        var data = Path.Combine(Path.GetTempPath(), "herald-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var log = Path.Combine(data, "server.log");
        // exec keeps the PID: the one we read /proc for is the server itself, not a shell.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$@\" > \"$HERALD_BENCH_LOG\" 2>&1");
        info.ArgumentList.Add("herald");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(serverDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.ArgumentList.Add($"--Herald:Storage:DataDirectory={data}");
        // The generator stands in for thousands of clients from a handful of loopback addresses, so the per-IP
        // abuse limits (1,000 streams, 50 messages/s per address by default) would refuse the load itself.
        // Extra --server-arg values come later on the command line and win.
        info.ArgumentList.Add("--Herald:Limits:MaxConnectionsPerIp=0");
        info.ArgumentList.Add("--Herald:Limits:MessagesPerIpPerSecond=0");
        info.ArgumentList.Add("--Herald:Limits:DialogsPerIpPerMinute=0");
        info.ArgumentList.Add("--Herald:Limits:DialogsPerAssistantPerMinute=0");
        foreach (var arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        // Production, as deployed: no developer exception page around every request, a real signing key, the
        // first operator from the environment (the credentials HeraldApi logs in with).
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Herald__Auth__SigningKey"] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        info.Environment["HERALD_ADMIN_EMAIL"] = HeraldApi.DevEmail;
        info.Environment["HERALD_ADMIN_PASSWORD"] = HeraldApi.DevPassword;
        info.Environment["HERALD_BENCH_LOG"] = log;
        SetEnvironment(info, DeployedRuntimeEnvironment());
        SetEnvironment(info, environment);

        info.WorkingDirectory = data;
        return await LaunchAsync(info, port, data, log, keepData, "/api/sse/health", measureChild: false, ct);
    }

    // NAME=value pairs, later ones winning; a pair without '=' is ignored.
    private static void SetEnvironment(ProcessStartInfo info, IEnumerable<string> pairs)
    {
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                info.Environment[pair[..eq]] = pair[(eq + 1)..];
            }
        }
    }

    /// <summary>
    /// The runtime's environment variables (<c>DOTNET_*</c>) of <c>deploy/herald.service</c>, the unit Herald ships:
    /// settings the runtime reads only from the environment (the gen0 budget), so a benchmark of Herald runs as it is
    /// deployed. <c>--server-env</c> values come after them and win.
    /// </summary>
    public static IReadOnlyList<string> DeployedRuntimeEnvironment()
    {
        var unit = Path.Combine(LoadRunner.RepoRoot(), "deploy", "herald.service");
        return [.. File.ReadLines(unit)
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("Environment=DOTNET_", StringComparison.Ordinal))
            .Select(line => line["Environment=".Length..])];
    }

    /// <summary>
    /// Starts another server (Nchan's nginx, the SignalR peer) the same way: <paramref name="command"/> gets the
    /// free port and the temp directory and returns what to run, which runs with its output in
    /// <c>server.log</c> there and is ready when <paramref name="healthPath"/> answers 2xx.
    /// <paramref name="measureChild"/>: figures are read from its one child process (nginx's worker, which
    /// holds the connections; its master only supervises), not from the process started.
    /// </summary>
    public static async Task<ServerProcess> StartCommandAsync(string name, Func<int, string, (string File, IReadOnlyList<string> Args)> command, string healthPath, bool measureChild, bool keepData, CancellationToken ct,
        IReadOnlyList<string>? environment = null)
    {
        var port = FreePort();
        var data = Path.Combine(Path.GetTempPath(), $"{name}-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(data);
        var log = Path.Combine(data, "server.log");
        var (file, args) = command(port, data);
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = data };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$@\" > \"$HERALD_BENCH_LOG\" 2>&1");
        info.ArgumentList.Add(name);
        info.ArgumentList.Add(file);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["HERALD_BENCH_LOG"] = log;
        SetEnvironment(info, environment ?? []);
        return await LaunchAsync(info, port, data, log, keepData, healthPath, measureChild, ct);
    }

    private static async Task<ServerProcess> LaunchAsync(ProcessStartInfo info, int port, string data, string log, bool keepData, string healthPath, bool measureChild, CancellationToken ct)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the server.");
        var server = new ServerProcess(new Uri($"http://127.0.0.1:{port}"), process.Id, process, data, log, keepData);
        try
        {
            await server.WaitReadyAsync(healthPath, ct);
            if (measureChild)
            {
                server.Pid = OnlyChild(process.Id) ?? throw new InvalidOperationException($"{info.ArgumentList.ElementAtOrDefault(3)} (PID {process.Id}) has no single child process to measure.");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    private static int? OnlyChild(int pid)
    {
        try
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return children.Length == 1 ? int.Parse(children[0], CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private async Task WaitReadyAsync(string healthPath, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode}; see {LogFile}:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(healthPath, ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(100, ct);
        }

        throw new TimeoutException($"The server did not answer {healthPath} within 30 s; see {LogFile}:\n{Tail()}");
    }

    /// <summary>The last lines of the server log (for error messages).</summary>
    public string Tail(int lines = 20)
    {
        try
        {
            return LogFile is null || !File.Exists(LogFile) ? "" : string.Join('\n', File.ReadLines(LogFile).TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                // SIGTERM: the host's graceful shutdown, as an operator would stop it.
                _ = Native.Kill(_process.Id, 15);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _process.Dispose();
        }

        if (_dataDirectory is not null && !_keepData)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
