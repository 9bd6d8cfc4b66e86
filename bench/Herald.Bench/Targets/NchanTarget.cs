using System.Globalization;
using Herald.Bench.Load;
using Herald.Testing;

namespace Herald.Bench.Targets;

/// <summary>
/// Nchan: Debian's nginx with <c>libnginx-mod-nchan</c>, started with a generated <c>nginx.conf</c> in a temp
/// directory (memory store, one worker process). EventSource subscribers on <c>GET /sub/CHANNEL</c>,
/// publishers <c>POST /pub?id=CHANNEL</c>.
/// </summary>
internal sealed class NchanTarget : IBenchTarget
{
    private readonly HttpClient _http;

    private NchanTarget(ServerProcess server)
    {
        Server = server;
        _http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name => "nchan";

    public string Description => "Nchan (nginx + libnginx-mod-nchan; EventSource; memory store; 1 worker process; 15 s ping)";

    public string Protocol => ConnectSpec.Sse;

    public ServerProcess Server { get; }

    public bool IsDotNet => false;

    public static async Task<NchanTarget> StartAsync(BenchOptions options)
    {
        var nginx = NginxInstall.Binary;
        var module = NginxInstall.NchanModule;
        var server = await ServerProcess.StartCommandAsync("nchan", (port, directory) =>
        {
            var config = Path.Combine(directory, "nginx.conf");
            File.WriteAllText(config, Config(module, port, directory));
            return (nginx, ["-p", directory + "/", "-c", config, "-e", Path.Combine(directory, "error.log")]);
        }, "/health", measureChild: true, options.Flag("keep-data"), CancellationToken.None);
        return new NchanTarget(server);
    }

    /// <summary>
    /// The configuration. One worker process, so that it is one process against one (Herald's, SignalR's);
    /// its open-files limit raised to the hard limit (what the .NET runtime does for Herald and SignalR; above
    /// it even root may not go in these containers: nginx logs "setrlimit ... Operation not permitted") and
    /// as many connections as that allows; pings every 15 s as comments, like Herald's heartbeat; new
    /// subscribers start at the newest message, like a Herald stream without Last-Event-ID.
    /// </summary>
    public static string Config(string module, int port, string directory)
    {
        var files = Native.RaiseOpenFilesLimit().Hard;
        return string.Create(CultureInfo.InvariantCulture, $$"""
            load_module {{module}};
            {{NginxInstall.UserDirective}}
            daemon off;
            master_process on;
            worker_processes 1;
            worker_rlimit_nofile {{files}};
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events {
                worker_connections {{files}};
            }
            http {
                access_log off;
                {{NginxInstall.TempPaths(directory)}}
                nchan_shared_memory_size 256M;
                server {
                    listen 127.0.0.1:{{port}};
                    location = /health {
                        return 200 "ok";
                    }
                    location = /nchan_status {
                        nchan_stub_status;
                    }
                    location = /pub {
                        nchan_publisher;
                        nchan_channel_id $arg_id;
                    }
                    location ~ ^/sub/(.+)$ {
                        nchan_subscriber eventsource;
                        nchan_channel_id $1;
                        nchan_subscriber_first_message newest;
                        nchan_eventsource_ping_interval 15;
                        nchan_eventsource_ping_comment "ping";
                        nchan_eventsource_ping_event "";
                    }
                }
            }

            """);
    }

    public async Task WarmUpAsync()
    {
        for (var i = 0; i < 20; i++)
        {
            await ActiveConnectionsAsync();
        }
    }

    /// <summary>From <c>nchan_stub_status</c>: its "subscribers: N" line.</summary>
    public async Task<long?> ActiveConnectionsAsync()
    {
        foreach (var line in (await _http.GetStringAsync("/nchan_status")).Split('\n'))
        {
            if (line.StartsWith("subscribers:", StringComparison.Ordinal) && long.TryParse(line.AsSpan(12).Trim(), CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
        }

        return null;
    }

    public Task<IBenchChannels> OpenChannelsAsync(ChannelSpec spec) =>
        Task.FromResult<IBenchChannels>(new HttpPublisher(Server.BaseAddress, spec, channel => $"/sub/{channel}", channel => $"/pub?id={channel}"));

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Server.DisposeAsync();
    }
}
