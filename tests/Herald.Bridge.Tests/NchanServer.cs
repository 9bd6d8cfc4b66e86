using System.Diagnostics;
using System.Net.Sockets;
using Herald.Testing;
using Herald.Testing.Bridge;

namespace Herald.Bridge.Tests;

/// <summary>
/// nginx with Debian's <c>libnginx-mod-nchan</c>: an SSE server not written in this project. Runs in the
/// foreground on a free loopback port with its prefix, pid, logs and temp files in a temp directory.
/// Publish with <c>POST /pub?id=CHANNEL</c>; subscribe (EventSource) with <c>GET /sub?id=CHANNEL</c>.
/// </summary>
internal sealed class NchanServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NchanServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public static async Task<NchanServer> StartAsync()
    {
        var nginx = NginxInstall.Binary;
        var module = NginxInstall.NchanModule;

        var directory = Directory.CreateTempSubdirectory("herald-nchan-").FullName;
        var port = LoopbackPort.GetFree();
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), $$"""
            load_module {{module}};
            {{NginxInstall.UserDirective}}
            daemon off;
            master_process on;
            worker_processes 1;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 64; }
            http {
                access_log off;
                {{NginxInstall.TempPaths(directory)}}
                server {
                    listen 127.0.0.1:{{port}};
                    location = /pub {
                        nchan_publisher;
                        nchan_channel_id $arg_id;
                    }
                    location = /sub {
                        nchan_subscriber eventsource;
                        nchan_channel_id $arg_id;
                    }
                }
            }
            """);

        var start = new ProcessStartInfo(nginx)
        {
            ArgumentList = { "-p", directory + "/", "-c", Path.Combine(directory, "nginx.conf"), "-e", Path.Combine(directory, "error.log") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
        var server = new NchanServer(process, directory, port);
        try
        {
            await server.WaitUntilListeningAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Within.Timeout);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker may still be releasing a file; the temp directory is harmless.
        }
    }

    /// <summary>Publishes one message to a channel; returns the HTTP status.</summary>
    public async Task<int> PublishAsync(HttpClient http, string channel, string message)
    {
        using var content = new StringContent(message);
        var response = await http.PostAsync(new Uri($"http://127.0.0.1:{Port}/pub?id={channel}"), content).WaitAsync(Within.Timeout);
        return (int)response.StatusCode;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + Within.Timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                var log = File.Exists(Path.Combine(_directory, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(_directory, "error.log")) : "";
                throw new InvalidOperationException(
                    $"nginx exited with {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync()} {log}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", Port).WaitAsync(TimeSpan.FromSeconds(1));
                return;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"nginx did not listen on 127.0.0.1:{Port} within {Within.Timeout}.");
                }

                // Nothing to await but the port itself; nginx starts in tens of milliseconds.
                await Task.Delay(50);
            }
        }
    }
}
