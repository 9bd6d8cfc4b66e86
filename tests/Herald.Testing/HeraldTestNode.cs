using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Server;
using Herald.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Herald.Testing;

/// <summary>
/// A real Herald node on 127.0.0.1 with SQLite in a temporary directory, in the Development environment (the
/// well-known operator exists), hosted one of two ways with the same settings and the same helpers:
/// <list type="bullet">
/// <item><see cref="StartInProcessAsync"/>: Kestrel in the test process; its services and log are at hand (<see cref="Services"/>, <see cref="Logs"/>).</item>
/// <item><see cref="StartProcessAsync"/>: <c>dotnet herald.dll</c>, for tests where nodes must be independent: two nodes behind one
/// Redis, kill -9, SIGTERM and a drain. The test project must reference src/Herald.Cli so that herald.dll is next to it.</item>
/// <item><see cref="StartCommandAsync"/>: the command a user runs (the installed tool, the single-file build, <c>dotnet run</c>), in its
/// own working directory, with none of the test settings below.</item>
/// </list>
/// Either can be stopped and started again on the same port and data directory.
/// </summary>
public sealed class HeraldTestNode : IAsyncDisposable
{
    /// <summary>The Development environment's well-known operator.</summary>
    public const string AdminEmail = "admin@herald.local";
    public const string AdminPassword = "herald-dev-password";

    private readonly List<string> _args;
    private readonly Func<ProcessStartInfo>? _command;
    private readonly string _environment;
    private readonly bool _ownsDirectory;
    private readonly bool _inProcess;
    private readonly StringBuilder _output = new();
    private WebApplication? _app;
    private Process? _process;
    private LogCapture? _logs;

    private HeraldTestNode(bool inProcess, IEnumerable<KeyValuePair<string, string>>? settings, string? dataDirectory, string environment)
    {
        _inProcess = inProcess;
        _environment = environment;
        _ownsDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("herald-test-").FullName;
        _args = [.. Settings(DataDirectory, settings).Select(kv => $"--{kv.Key}={kv.Value}")];
    }

    private HeraldTestNode(Func<ProcessStartInfo> command, string workingDirectory)
    {
        _command = command;
        _environment = "";
        _args = [];
        DataDirectory = workingDirectory;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public int Port => BaseAddress.Port;

    /// <summary>An HttpClient for <see cref="BaseAddress"/>, without credentials.</summary>
    public HttpClient Client { get; private set; } = null!;

    public string DataDirectory { get; }

    /// <summary>The process id of a node in its own process while it runs.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>The in-process node's services.</summary>
    public IServiceProvider Services => (_app ?? throw new InvalidOperationException("Only a running in-process node has services at hand.")).Services;

    /// <summary>
    /// What the in-process node logged (at the levels its configuration lets through; Warning unless a test sets
    /// <c>Logging:LogLevel:*</c>). Kept across a restart.
    /// </summary>
    public LogCapture Logs => _logs ?? throw new InvalidOperationException("A node in its own process logs to its output (Output).");

    /// <summary>Everything a node in its own process printed so far, across restarts (for failure messages).</summary>
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
    /// Starts a node in the test process. <paramref name="settings"/> are configuration keys such as
    /// <c>Herald:Streams:HeartbeatInterval</c>; several nodes may share a <paramref name="dataDirectory"/>.
    /// </summary>
    public static async Task<HeraldTestNode> StartInProcessAsync(IEnumerable<KeyValuePair<string, string>>? settings = null, string? dataDirectory = null,
        int port = 0, string environment = "Development")
    {
        var node = new HeraldTestNode(inProcess: true, settings, dataDirectory, environment);
        try
        {
            await node.LaunchInProcessAsync(port);
        }
        catch
        {
            node.DeleteOwnDirectory();
            throw;
        }

        return node;
    }

    /// <summary>Starts a node as a separate <c>dotnet herald.dll</c> process (on <paramref name="port"/>, or a free one).</summary>
    public static async Task<HeraldTestNode> StartProcessAsync(IEnumerable<KeyValuePair<string, string>>? settings = null, string? dataDirectory = null,
        int? port = null)
    {
        _ = HeraldDll();
        var node = new HeraldTestNode(inProcess: false, settings, dataDirectory, "Development");
        node.SetAddress(new Uri($"http://127.0.0.1:{port ?? LoopbackPort.GetFree()}"));
        try
        {
            await node.LaunchProcessAsync();
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>
    /// Starts a node as a user starts one: <paramref name="command"/> (the installed tool, the single-file build,
    /// <c>dotnet run</c>) with <c>--urls</c> on a free port added, and nothing of the test's own: the data directory,
    /// log levels and settings are whatever the command finds in its working directory and environment, and its
    /// output has the start-up log (Information). <see cref="DataDirectory"/> is the command's working directory.
    /// </summary>
    public static async Task<HeraldTestNode> StartCommandAsync(Func<ProcessStartInfo> command)
    {
        var node = new HeraldTestNode(command, command().WorkingDirectory);
        node.SetAddress(new Uri($"http://127.0.0.1:{LoopbackPort.GetFree()}"));
        try
        {
            await node.LaunchProcessAsync();
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>Starts the node again after <see cref="StopAsync"/> or <see cref="KillAsync"/>, on the same port and data directory.</summary>
    public Task StartAsync() => _inProcess ? LaunchInProcessAsync(Port) : LaunchProcessAsync();

    /// <summary>
    /// A graceful stop (SIGTERM to a process: the drain runs) that must end within <paramref name="timeout"/>.
    /// Returns the exit code of a process, 0 for an in-process node.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (_inProcess)
        {
            await StopInProcessAsync(timeout, cutOpenRequests: false);
            return 0;
        }

        if (_process is not { HasExited: false } process)
        {
            return _process?.ExitCode ?? 0;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
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

    /// <summary>
    /// An abrupt stop: a process gets SIGKILL (dies mid-whatever, as in a crash); an in-process node stops without
    /// waiting for its open streams, which are cut.
    /// </summary>
    public async Task KillAsync()
    {
        if (_inProcess)
        {
            // Kestrel waits for in-flight requests until this token fires, then aborts them; SSE streams never finish
            // on their own, so a short wait is what cuts them.
            await StopInProcessAsync(TimeSpan.FromMilliseconds(500), cutOpenRequests: true);
        }
        else if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary><see cref="KillAsync"/>, then <see cref="StartAsync"/>: what a client sees when a deployment restarts.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        await StartAsync();
    }

    public T GetService<T>() where T : notnull => Services.GetRequiredService<T>();

    public async Task<string> LoginAsync()
    {
        using var response = await Client.PostAsJsonAsync("/api/auth/login", new { email = AdminEmail, password = AdminPassword });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("access_token").GetString()!;
    }

    /// <summary>An HttpClient that sends the operator token as a Bearer header.</summary>
    public async Task<HttpClient> OperatorClientAsync()
    {
        var token = await LoginAsync();
        var client = NewClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<long> CreateAssistantAsync(string name = "Shop")
    {
        using var op = await OperatorClientAsync();
        using var response = await op.PostAsJsonAsync("/api/assistants", new { name });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>Creates (or returns) the dialog of <paramref name="guestId"/> with a new or given assistant.</summary>
    public async Task<Guest> OpenGuestDialogAsync(string guestId = "guest-1", long? assistantId = null)
    {
        var assistant = assistantId ?? await CreateAssistantAsync();
        using var response = await Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id={guestId}", null);
        response.EnsureSuccessStatusCode();
        var dialogId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        return new Guest(assistant, guestId, dialogId);
    }

    public async Task<JsonElement> PostGuestMessageAsync(Guest guest, string text)
    {
        using var response = await Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { sender = "user", text });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"POST message failed: {(int)response.StatusCode} {body}{ServerErrors()}");
        return body;
    }

    /// <summary>The node's <c>/api/sse/stats</c>.</summary>
    public Task<JsonElement> StatsAsync() => Client.GetFromJsonAsync<JsonElement>("/api/sse/stats");

    /// <summary>The node's <c>/api/sse/health</c>.</summary>
    public Task<JsonElement> HealthAsync() => Client.GetFromJsonAsync<JsonElement>("/api/sse/health");

    /// <summary>
    /// The node's Error and Critical log entries so far, for a failure message (empty when there are none). A node in
    /// its own process gives its console's <c>fail</c> and <c>crit</c> entries.
    /// </summary>
    public string ServerErrors()
    {
        if (_logs is not null)
        {
            return _logs.Text(LogLevel.Error);
        }

        var lines = new List<string>();
        var inEntry = false;
        foreach (var line in Output.Split('\n'))
        {
            inEntry = line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)
                || (inEntry && line.StartsWith(' '));
            if (inEntry)
            {
                lines.Add(line.TrimEnd('\r'));
            }
        }

        return lines.Count == 0 ? "" : "\nserver log:\n" + string.Join("\n", lines);
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_inProcess)
        {
            await StopInProcessAsync(TimeSpan.FromSeconds(10), cutOpenRequests: false);
        }
        else
        {
            await KillAsync();
            _process?.Dispose();
        }

        DeleteOwnDirectory();
    }

    /// <summary>
    /// What every test node gets, before the test's own settings (which win): its data directory, a quiet log, and
    /// the per-address limits off, since tests post fast from one address (the tests of the limits set them).
    /// </summary>
    private static Dictionary<string, string> Settings(string dataDirectory, IEnumerable<KeyValuePair<string, string>>? settings)
    {
        var all = new Dictionary<string, string>
        {
            ["Herald:Storage:DataDirectory"] = dataDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Herald:Limits:MessagesPerIpPerSecond"] = "0",
            ["Herald:Limits:DialogsPerIpPerMinute"] = "0",
            ["Herald:Limits:DialogsPerAssistantPerMinute"] = "0",
            ["Herald:Limits:MessagesPerGuestPerSecond"] = "0",
            ["Herald:Limits:LoginsPerIpPerMinute"] = "0",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return all;
    }

    private static string HeraldDll()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "herald.dll");
        return File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"{dll} not found: the test project must reference src/Herald.Cli (the herald command).");
    }

    private async Task LaunchInProcessAsync(int port)
    {
        _logs ??= new LogCapture();
        var logs = _logs;
        string[] args = ["--urls", $"http://127.0.0.1:{port}", "--environment", _environment, .. _args];
        var app = HeraldApp.Build(args, builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        _app = app;
        SetAddress(new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    private async Task StopInProcessAsync(TimeSpan timeout, bool cutOpenRequests)
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;
        using (var cts = new CancellationTokenSource(timeout))
        {
            try
            {
                await app.StopAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cutOpenRequests)
            {
            }
        }

        // Disposing the app disposes its store, which closes its own pooled connections (never ClearAllPools: other
        // nodes of the same test process may be serving).
        await app.DisposeAsync();
    }

    private async Task LaunchProcessAsync()
    {
        _process?.Dispose();
        var start = _command?.Invoke() ?? new ProcessStartInfo("dotnet") { ArgumentList = { HeraldDll() } };
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        foreach (var arg in _args)
        {
            start.ArgumentList.Add(arg);
        }

        if (_command is null)
        {
            start.Environment["ASPNETCORE_ENVIRONMENT"] = _environment;
            start.Environment["DOTNET_gcServer"] = "0";
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Herald node exited with {process.ExitCode}:\n{Output}");
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

    private void SetAddress(Uri address)
    {
        if (BaseAddress == address)
        {
            return;
        }

        BaseAddress = address;
        Client?.Dispose();
        Client = NewClient();
    }

    private HttpClient NewClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

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

    private void DeleteOwnDirectory()
    {
        if (!_ownsDirectory)
        {
            return;
        }

        // The node's store has closed its own pooled connections; ClearAllPools here would also close those of the
        // nodes other tests are running at this moment (a 500 in an unrelated test).
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
