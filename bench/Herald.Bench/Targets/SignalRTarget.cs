using System.Text.Json;
using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>ASP.NET Core SignalR: <see cref="SignalRBenchServer"/>, started as <c>Herald.Bench signalr-server</c>.</summary>
internal sealed class SignalRTarget : IBenchTarget
{
    private readonly HttpClient _http;

    private SignalRTarget(ServerProcess server)
    {
        Server = server;
        _http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name => "signalr";

    public string Description => $"ASP.NET Core SignalR (WebSockets, JSON hub protocol; groups; {HeraldTarget.RuntimeSettings}; 15 s keep-alive)";

    public string Protocol => ConnectSpec.SignalR;

    public ServerProcess Server { get; }

    public bool IsDotNet => true;

    public static async Task<SignalRTarget> StartAsync(BenchOptions options)
    {
        var self = SelfLaunch.StartInfo("signalr-server");
        var server = await ServerProcess.StartCommandAsync("signalr",
            (port, _) => (self.FileName, [.. self.ArgumentList, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]),
            "/health", measureChild: false, options.Flag("keep-data"), CancellationToken.None, ServerProcess.DeployedRuntimeEnvironment());
        return new SignalRTarget(server);
    }

    public async Task WarmUpAsync()
    {
        for (var i = 0; i < 20; i++)
        {
            await ActiveConnectionsAsync();
        }
    }

    public async Task<long?> ActiveConnectionsAsync()
    {
        using var doc = JsonDocument.Parse(await _http.GetStringAsync("/stats"));
        return doc.RootElement.GetProperty("active_connections").GetInt64();
    }

    public Task<IBenchChannels> OpenChannelsAsync(ChannelSpec spec) =>
        Task.FromResult<IBenchChannels>(new HttpPublisher(Server.BaseAddress, spec, group => group, group => $"/publish?group={group}"));

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Server.DisposeAsync();
    }
}
