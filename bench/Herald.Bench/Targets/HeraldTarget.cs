using System.Diagnostics;
using System.Globalization;
using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>
/// Herald: the Release build of <c>src/Herald.Cli</c> (the <c>herald</c> command) (or a running server given by <c>--url</c>);
/// topics through <c>POST /api/publish</c>, dialogs through the chat API. Subscribers over SSE (<c>GET /api/events</c>,
/// <c>/api/dialogs/{id}/events</c>), or with <c>--transport ws</c> over its WebSockets (<c>/ws/topics</c>, seed 001's
/// <c>/ws/widget/dialogs/{id}</c> and <c>/ws/dialogs/{id}</c>), or with <c>--transport poll</c> by long polling
/// (<c>/api/poll</c>, <c>/api/widget/dialogs/{id}/poll</c>, <c>/api/dialogs/{id}/poll</c>).
/// </summary>
internal sealed class HeraldTarget : IBenchTarget
{
    private readonly string _transport;

    private HeraldTarget(ServerProcess server, string transport)
    {
        Server = server;
        Api = new HeraldApi(server.BaseAddress, 4);
        _transport = transport;
        Protocol = transport switch
        {
            "sse" => ConnectSpec.Sse,
            "ws" => ConnectSpec.WebSocket,
            "poll" => ConnectSpec.Poll,
            _ => throw new ArgumentException($"Unknown --transport '{transport}' (sse, ws or poll)."),
        };
    }

    /// <summary>
    /// The runtime settings of herald's build (src/Herald.Cli/Herald.Cli.csproj) and of its systemd unit
    /// (deploy/herald.service, <see cref="ServerProcess.DeployedRuntimeEnvironment"/>), which every .NET target's
    /// description names.
    /// </summary>
    internal const string RuntimeSettings = "workstation concurrent GC, 4 MB gen0 budget, thread pool not spinning";

    public string Name => "herald";

    public string Description => $"Herald ({_transport switch { "ws" => "WebSocket", "poll" => "long polling", _ => "SSE" }}; SQLite; {RuntimeSettings}; 15 s heartbeat)";

    public string Protocol { get; }

    public ServerProcess Server { get; }

    public bool IsDotNet => true;

    /// <summary>Setup calls (login, assistants) on the server.</summary>
    public HeraldApi Api { get; }

    /// <param name="options">The bench's options: <c>--url</c> attaches instead of starting, <c>--server-arg</c> etc.</param>
    /// <param name="settings">
    /// Configuration a scenario needs (S4's shared store and backplane, S5's heartbeat interval); <c>--server-arg</c>
    /// values come after them and win. Not applied to a server given by <c>--url</c>.
    /// </param>
    public static async Task<HeraldTarget> StartAsync(BenchOptions options, IReadOnlyList<string>? settings = null)
    {
        if (options.String("url") is { } url)
        {
            return new HeraldTarget(ServerProcess.Attach(new Uri(url), options.String("server-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : null), Transport(options));
        }

        var dll = options.String("server-dll") ?? Path.Combine(LoadRunner.RepoRoot(), "src", "Herald.Cli", "bin", "Release", "net10.0", "herald.dll");
        return new HeraldTarget(await ServerProcess.StartAsync(dll, [.. settings ?? [], .. options.All("server-arg")], options.All("server-env"), options.Flag("keep-data"), CancellationToken.None), Transport(options));
    }

    /// <summary><c>--transport</c>: <c>sse</c> (the default), <c>ws</c> or <c>poll</c>.</summary>
    public static string Transport(BenchOptions options) => options.String("transport") ?? "sse";

    public async Task WarmUpAsync()
    {
        for (var i = 0; i < 20; i++)
        {
            await Api.GetJsonAsync("/api/sse/stats");
        }
    }

    public async Task<long?> ActiveConnectionsAsync() =>
        (await Api.GetJsonAsync("/api/sse/stats")).GetProperty("active_connections").GetInt64();

    public async Task<IBenchChannels> OpenChannelsAsync(ChannelSpec spec)
    {
        var token = await Api.LoginAsync();
        var publisher = new HeraldApi(Server.BaseAddress, spec.Publishers);
        if (spec.Kind == ChannelKind.Topic)
        {
            await publisher.LoginAsync();
            return new Topics(spec, token, publisher, _transport);
        }

        var assistant = await Api.CreateAssistantAsync("bench");
        var dialogIds = new long[spec.Count];
        var setup = Stopwatch.GetTimestamp();
        using (var setupApi = new HeraldApi(Server.BaseAddress, 16))
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < spec.Count)
                {
                    dialogIds[i] = await setupApi.OpenGuestDialogAsync(assistant, Dialogs.Guest(i));
                }
            }));
        }

        return new Dialogs(token, assistant, dialogIds, publisher, $"{spec.Count:N0} dialogs created in {Stopwatch.GetElapsedTime(setup).TotalSeconds:F1} s", _transport);
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Server.DisposeAsync();
    }

    private sealed class Topics(ChannelSpec spec, string token, HeraldApi publisher, string transport) : IBenchChannels
    {
        private readonly string _path = transport switch { "ws" => "/ws/topics", "poll" => "/api/poll", _ => "/api/events" };

        public string SetupSummary => "";

        public Subscription Subscribe(int channel, int subscriber) => new($"{_path}?topic={spec.Prefix}-{channel}&token={token}", channel);

        public Task<bool> PublishAsync(int channel, string text) => publisher.PublishAsync($"{spec.Prefix}-{channel}", text, spec.Padding);

        public void Dispose() => publisher.Dispose();
    }

    // Each dialog is watched by its guest (widget: assistant_id + guest_id) and, as the second subscriber, an
    // operator (JWT); the guest posts, so every message is stored in SQLite before it is delivered.
    private sealed class Dialogs(string token, long assistant, long[] dialogIds, HeraldApi publisher, string setup, string transport) : IBenchChannels
    {
        public string SetupSummary => setup;

        public static string Guest(int i) => "bench-guest-" + i;

        public Subscription Subscribe(int channel, int subscriber)
        {
            var id = dialogIds[channel];
            var query = subscriber == 0 ? $"assistant_id={assistant}&guest_id={Guest(channel)}" : $"token={token}";
            return new(transport switch
            {
                "ws" => subscriber == 0 ? $"/ws/widget/dialogs/{id}?{query}" : $"/ws/dialogs/{id}?{query}",
                "poll" => subscriber == 0 ? $"/api/widget/dialogs/{id}/poll?{query}" : $"/api/dialogs/{id}/poll?{query}",
                _ => $"/api/dialogs/{id}/events?{query}",
            }, channel);
        }

        public Task<bool> PublishAsync(int channel, string text) => publisher.PostGuestMessageAsync(dialogIds[channel], assistant, Guest(channel), text);

        public void Dispose() => publisher.Dispose();
    }
}
