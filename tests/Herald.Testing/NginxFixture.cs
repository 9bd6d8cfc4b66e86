using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Testing;

/// <summary>
/// Debian's nginx, started as a foreground process on a free loopback port, with everything it writes (pid,
/// logs, temporary files) in a temporary directory. Runs the repository's <c>deploy/nginx.conf</c> with its
/// upstream pointed at the given Herald nodes, or a variant of it, or any site configuration.
/// </summary>
/// <remarks>A missing nginx fails the test with a message that says how to install it; it never skips.</remarks>
public sealed partial class NginxFixture : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private NginxFixture(Process process, StringBuilder output, string directory, int port)
    {
        _process = process;
        _output = output;
        Directory = directory;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    /// <summary>Where clients connect, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The temporary directory holding the configuration, logs and temporary files.</summary>
    public string Directory { get; }

    public string ErrorLog => ReadOrEmpty(Path.Combine(Directory, "error.log"));

    public string AccessLog => ReadOrEmpty(Path.Combine(Directory, "access.log"));

    /// <summary>
    /// deploy/nginx.conf in front of <paramref name="upstreams"/> (any number of nodes), after
    /// <paramref name="variant"/> has rewritten it (e.g. to turn buffering on).
    /// </summary>
    public static Task<NginxFixture> StartDeployConfigAsync(IReadOnlyList<Uri> upstreams, Func<string, string>? variant = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(upstreams.Count);
        var site = File.ReadAllText(RepositoryPaths.NginxConf);
        var block = UpstreamBlock().Match(site);
        var example = ServerLine().Match(block.Value);
        if (!block.Success || !example.Success)
        {
            throw new InvalidOperationException("deploy/nginx.conf has no 'upstream herald { server ...; }' block for the fixture to point at the test nodes.");
        }

        // The shipped servers' parameters (max_fails, fail_timeout) and the rest of the block stay as shipped.
        var parameters = example.Groups["parameters"].Value;
        var servers = string.Concat(upstreams.Select(u => $"{example.Groups["indent"].Value}server {u.Host}:{u.Port}{parameters};\n"));
        var body = ServerLine().Replace(block.Value, "");
        var upstream = body.Insert(body.IndexOf('\n') + 1, servers);
        var replaced = site.Remove(block.Index, block.Length).Insert(block.Index, upstream);

        return StartAsync(variant is null ? replaced : variant(replaced));
    }

    /// <summary>Any server configuration (the body of nginx's http block); its <c>listen</c> lines are moved to the fixture's port.</summary>
    public static async Task<NginxFixture> StartAsync(string siteConfig, IReadOnlyDictionary<string, string>? files = null)
    {
        var binary = NginxInstall.Binary;
        var directory = System.IO.Directory.CreateTempSubdirectory("herald-nginx-").FullName;
        var port = LoopbackPort.GetFree();
        foreach (var (name, content) in files ?? new Dictionary<string, string>())
        {
            var path = Path.Combine(directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content);
        }

        var site = ListenLine().Replace(siteConfig, m => $"{m.Groups[1].Value}listen 127.0.0.1:{port};");
        await File.WriteAllTextAsync(Path.Combine(directory, "site.conf"), site.Replace("{{DIR}}", directory, StringComparison.Ordinal));
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), MainConfig(directory));

        var output = new StringBuilder();
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-p", directory + "/", "-c", Path.Combine(directory, "nginx.conf"), "-e", Path.Combine(directory, "error.log"), "-g", "daemon off;" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {binary}.");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var fixture = new NginxFixture(process, output, directory, port);
        try
        {
            await fixture.WaitUntilListeningAsync(port, TimeSpan.FromSeconds(10));
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }

        return fixture;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: nginx's fast shutdown; the master stops its workers (SIGKILL would orphan them).
            Posix.Signal(_process.Id, Posix.SigTerm);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
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
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string MainConfig(string directory)
    {
        return $$"""
            {{NginxInstall.UserDirective}}
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log info;
            events { worker_connections 1024; }
            http {
                access_log {{directory}}/access.log;
                {{NginxInstall.TempPaths(directory)}}
                types { text/html html; application/javascript js; }
                default_type application/octet-stream;
                include {{directory}}/site.conf;
            }
            """;
    }

    private async Task WaitUntilListeningAsync(int port, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited with {_process.ExitCode} at start:\n{_output}\n{ErrorLog}");
            }

            using var probe = new TcpClient();
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                await probe.ConnectAsync(IPAddress.Loopback, port, cts.Token);
                return;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"nginx did not listen on {port} within {timeout}:\n{_output}\n{ErrorLog}");
                }
            }

            // Nothing to await for "the port is open" but trying again; a short pause between attempts.
            await Task.Delay(20);
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }

    [GeneratedRegex(@"upstream herald \{.*?\n\}", RegexOptions.Singleline)]
    private static partial Regex UpstreamBlock();

    [GeneratedRegex(@"(?m)^(?<indent>[ \t]*)server[ \t]+[^ \t;]+(?<parameters>[^;]*);[ \t]*\r?\n")]
    private static partial Regex ServerLine();

    // Only active listen lines: the commented TLS example stays a comment.
    [GeneratedRegex(@"(?m)^([ \t]*)listen[ \t]+[^;]+;")]
    private static partial Regex ListenLine();
}
