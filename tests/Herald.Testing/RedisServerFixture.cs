using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Xunit;

namespace Herald.Testing;

/// <summary>
/// Runs a real redis-server on 127.0.0.1, on a free port, with a temporary directory and no persistence. Use it as an
/// xunit class fixture (<c>IClassFixture&lt;RedisServerFixture&gt;</c>) or create one with <see cref="StartNewAsync"/>.
/// </summary>
/// <remarks>
/// <see cref="StopAsync"/>, <see cref="StartAsync"/> and <see cref="RestartAsync"/> simulate outages; the server always
/// comes back on the same port. Stopping kills the process (like a crash), so clients see the socket drop. If
/// redis-server is not installed the fixture fails with a message saying how to install it; it never skips.
/// </remarks>
public class RedisServerFixture : IAsyncLifetime, IAsyncDisposable
{
    private const int OutputLines = 200;

    // Servers left running when the test host exits (a crash, a hung test) are killed rather than orphaned.
    private static readonly ConcurrentDictionary<Process, byte> Running = new();

    private readonly RedisServerSettings _settings;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private string? _directory;
    private Process? _process;

    static RedisServerFixture()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Running.Keys)
            {
                try
                {
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                }
            }
        };
    }

    /// <summary>A server without a password (what xunit uses for a class fixture).</summary>
    public RedisServerFixture()
        : this(new RedisServerSettings())
    {
    }

    /// <summary>A server configured by <paramref name="settings"/>; call <see cref="InitializeAsync"/> to start it.</summary>
    protected RedisServerFixture(RedisServerSettings settings)
    {
        _settings = settings;
    }

    /// <summary>Always 127.0.0.1.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The port, fixed once the server first started.</summary>
    public int Port { get; private set; }

    /// <summary>The default user's password, if any.</summary>
    public string? Password => _settings.Password;

    /// <summary>True between a successful start and the next stop.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The running redis-server's process id (null while stopped): benchmarks read its CPU time from /proc.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>True when the server only accepts TLS (<c>rediss://</c>).</summary>
    public bool UseTls => _settings.TlsCertificateFile is not null;

    /// <summary><c>redis://[:password@]127.0.0.1:port/0</c> (<c>rediss://</c> for a TLS server).</summary>
    public string Url => UrlFor(database: 0);

    /// <summary>The recent output of redis-server, to put in assertion messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Creates and starts a server configured by <paramref name="settings"/>.</summary>
    public static async Task<RedisServerFixture> StartNewAsync(RedisServerSettings settings)
    {
        var fixture = new RedisServerFixture(settings);
        try
        {
            await fixture.InitializeAsync();
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }

        return fixture;
    }

    /// <summary>A URL for this server with the given database and credentials (default: the default user's).</summary>
    public string UrlFor(int database = 0, string? user = null, string? password = null)
    {
        password ??= user is null ? Password : null;
        var credentials = (user, password) switch
        {
            (null, null) => string.Empty,
            (null, _) => ":" + Uri.EscapeDataString(password) + "@",
            (_, null) => Uri.EscapeDataString(user) + "@",
            _ => Uri.EscapeDataString(user) + ":" + Uri.EscapeDataString(password) + "@",
        };
        return $"{(UseTls ? "rediss" : "redis")}://{credentials}{Host}:{Port}/{database}";
    }

    /// <summary>Starts the server on a free port (xunit calls this for a fixture).</summary>
    public async Task InitializeAsync()
    {
        var path = FindServer();
        Exception? last = null;

        // The free port can be taken by someone else before redis-server binds it; try a few.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Port = LoopbackPort.GetFree();
            _directory ??= Directory.CreateTempSubdirectory("herald-redis-").FullName;
            try
            {
                await StartProcessAsync(path);
                return;
            }
            catch (InvalidOperationException ex) when (Output.Contains("Address already in use", StringComparison.Ordinal))
            {
                last = ex;
            }
        }

        throw last!;
    }

    /// <summary>Starts the server again on the same port after <see cref="StopAsync"/>.</summary>
    public async Task StartAsync()
    {
        if (Port == 0)
        {
            throw new InvalidOperationException("InitializeAsync must run before StartAsync.");
        }

        await StartProcessAsync(FindServer());
    }

    /// <summary>Kills the server (clients see their sockets close); a no-op when it is not running.</summary>
    public async Task StopAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            var process = _process;
            _process = null;
            if (process is null)
            {
                return;
            }

            Running.TryRemove(process, out _);
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It already exited.
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(timeout.Token);
            process.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Freezes the server process (SIGSTOP): sockets stay open but nothing is answered, like a hung server. Undo with
    /// <see cref="ResumeAsync"/>.
    /// </summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Stops the server and starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>Stops the server and deletes its directory.</summary>
    public virtual async Task DisposeAsync()
    {
        await StopAsync();
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }

            _directory = null;
        }

        GC.SuppressFinalize(this);
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("The server is not running.");
        using var kill = Process.Start(new ProcessStartInfo("kill")
        {
            ArgumentList = { "-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            UseShellExecute = false,
        })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    private string FindServer()
    {
        if (_settings.ExecutablePath is not null)
        {
            return File.Exists(_settings.ExecutablePath) ? _settings.ExecutablePath : throw NotFound();
        }

        var configured = Environment.GetEnvironmentVariable("REDIS_SERVER");
        if (!string.IsNullOrEmpty(configured) && File.Exists(configured))
        {
            return configured;
        }

        return FindOnPath("redis-server") ?? throw NotFound();
    }

    /// <summary>The first <paramref name="name"/> on the PATH, or null.</summary>
    internal static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Where(directory => directory.Length > 0)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    private static InvalidOperationException NotFound() => new(
        "redis-server not found: run scripts/test.sh, which installs it "
        + "(or install the redis-server package, or set REDIS_SERVER to its path).");

    private async Task StartProcessAsync(string path)
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (IsRunning)
            {
                return;
            }

            _output.Clear();
            var start = new ProcessStartInfo(path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in Arguments())
            {
                start.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => Record(e.Data);
            process.ErrorDataReceived += (_, e) => Record(e.Data);
            process.Start();
            Running.TryAdd(process, 0);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;

            if (!await WaitUntilReadyAsync(process))
            {
                _process = null;
                Running.TryRemove(process, out _);
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
                process.Dispose();
                throw new InvalidOperationException(
                    $"redis-server on port {Port} did not answer PING within {_settings.StartupTimeout.TotalSeconds} s."
                    + $" Its output:\n{Output}");
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private IEnumerable<string> Arguments()
    {
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_settings.SentinelConfiguration is not null)
        {
            var file = Path.Combine(_directory!, "sentinel.conf");
            if (!File.Exists(file))
            {
                File.WriteAllText(file, _settings.SentinelConfiguration);
            }

            // Sentinel takes no persistence options; its state is the configuration file it rewrites.
            return [file, "--sentinel", "--port", port, "--bind", Host, "--dir", _directory!, "--daemonize", "no", "--logfile", string.Empty];
        }

        return ServerArguments(port);
    }

    private IEnumerable<string> ServerArguments(string port)
    {
        string[] listen = UseTls
            ?
            [
                "--port", "0",
                "--tls-port", port,
                "--tls-cert-file", _settings.TlsCertificateFile!,
                "--tls-key-file", _settings.TlsKeyFile ?? throw new InvalidOperationException("TlsKeyFile is required."),
                "--tls-auth-clients", "no",
            ]
            : ["--port", port];
        string[] basics =
        [
            .. listen,
            "--bind", Host,
            "--save", string.Empty,
            "--appendonly", "no",
            "--dir", _directory!,
            "--daemonize", "no",
            "--logfile", string.Empty,
        ];
        foreach (var argument in basics)
        {
            yield return argument;
        }

        if (_settings.Password is not null)
        {
            yield return "--requirepass";
            yield return _settings.Password;
        }

        foreach (var (name, password) in _settings.Users)
        {
            yield return "--user";
            yield return name;
            yield return "on";
            yield return ">" + password;
            yield return "~*";
            yield return "&*";
            yield return "+@all";
        }

        foreach (var argument in _settings.ExtraArguments)
        {
            yield return argument;
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > OutputLines)
        {
            _output.TryDequeue(out _);
        }
    }

    private async Task<bool> WaitUntilReadyAsync(Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < _settings.StartupTimeout && !process.HasExited)
        {
            if (await PingAsync())
            {
                return true;
            }

            // Polling is the only way to learn that a separate process started listening.
            await Task.Delay(20);
        }

        return false;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            await using var stream = await OpenStreamAsync(socket, timeout.Token);
            var request = new StringBuilder();
            if (_settings.Password is not null)
            {
                request.Append(FormattableString.Invariant(
                    $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(_settings.Password)}\r\n{_settings.Password}\r\n"));
            }

            request.Append("*1\r\n$4\r\nPING\r\n");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
            var received = new StringBuilder();
            var buffer = new byte[256];
            while (true)
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    return false;
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, n));
                var text = received.ToString();
                if (text.Contains("+PONG\r\n", StringComparison.Ordinal))
                {
                    return true;
                }

                if (text.StartsWith('-') || text.Contains("\r\n-", StringComparison.Ordinal))
                {
                    // LOADING and the like: not ready yet.
                    return false;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException
            or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
    }

    private async Task<Stream> OpenStreamAsync(Socket socket, CancellationToken cancellationToken)
    {
        var stream = new NetworkStream(socket, ownsSocket: false);
        if (!UseTls)
        {
            return stream;
        }

        // The server's certificate is usually self-signed by the test: trust exactly that certificate.
        using var expected = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(
            _settings.TlsCertificateFile!, cancellationToken));
        var ssl = new SslStream(
            stream,
            leaveInnerStreamOpen: false,
            (_, certificate, _, _) => certificate?.GetCertHashString() == expected.Thumbprint);
        await ssl.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions { TargetHost = Host }, cancellationToken);
        return ssl;
    }
}
