using Herald.Server.Cli;

namespace Herald.Server.Bridge;

/// <summary><c>herald bridge</c>, <c>herald testserver</c> and <c>herald testclient</c>: seed 004's three programs.</summary>
internal static class BridgeCommands
{
    public const string Usage = """
        herald bridge [--settings PATH]                                   the WebSocket-to-SSE bridge (seed 004; settings.json in the working directory by default)
        herald testserver [--settings PATH]                               seed 004's test SSE server (testServer section)
        herald testclient [--settings PATH] [--url WS_URL] [--token T]    seed 004's test client (testClient section)
        """;

    public static async Task<int> RunBridgeAsync(string[] args)
    {
        if (await LoadAsync(args) is not { } loaded)
        {
            return 2;
        }

        var (settings, source, _) = loaded;
        var proxy = settings.Proxy;
        await using var app = BridgeHost.Build(proxy);
        if (!await TryStartAsync(app, proxy.Host, proxy.Port))
        {
            return 1;
        }

        Console.WriteLine($"🚀 Herald bridge: ws://{Authority(proxy.Host, proxy.Port)}{proxy.Path} (settings: {source})");
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static async Task<int> RunTestServerAsync(string[] args)
    {
        if (await LoadAsync(args) is not { } loaded)
        {
            return 2;
        }

        var server = loaded.Settings.TestServer;
        await using var app = TestSseServer.Build(server, Console.Out);
        if (!await TryStartAsync(app, server.Host, server.Port))
        {
            return 1;
        }

        Console.WriteLine($"🚀 Test SSE server: http://{Authority(server.Host, server.Port)}{TestSseServer.EventsPath} " +
            $"({server.ResponseCount} events, {server.ResponseDelay} ms apart; settings: {loaded.Source})");
        await app.WaitForShutdownAsync();
        return 0;
    }

    public static async Task<int> RunTestClientAsync(string[] args)
    {
        if (await LoadAsync(args, "--url", "--token") is not { } loaded)
        {
            return 2;
        }

        var (settings, _, options) = loaded;
        var proxy = settings.Proxy;
        var url = options.GetValueOrDefault("--url") ?? $"ws://{Authority(proxy.Host, proxy.Port)}{proxy.Path}";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
        {
            await Console.Error.WriteLineAsync($"--url '{url}' is not a ws:// or wss:// URL.");
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            return await TestBridgeClient.RunAsync(settings, uri, options.GetValueOrDefault("--token") ?? proxy.Token, Console.Out, stop.Token);
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }

    /// <summary>Starts the app; a port that is taken is an operator's problem to read about, not a stack trace.</summary>
    private static async Task<bool> TryStartAsync(WebApplication app, string host, int port)
    {
        try
        {
            await app.StartAsync();
            return true;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"Could not listen on {Authority(host, port)}: {ex.InnerException?.Message ?? ex.Message}");
            return false;
        }
    }

    private static string Authority(string host, int port) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    private static async Task<(BridgeSettings Settings, string Source, Dictionary<string, string> Options)?> LoadAsync(string[] args, params string[] extra)
    {
        var rest = args.ToList();
        var path = HeraldCommandLine.TakeOption(rest, "--settings");
        Dictionary<string, string> options = [];
        foreach (var name in extra)
        {
            if (HeraldCommandLine.TakeOption(rest, name) is { } value)
            {
                options[name] = value;
            }
        }

        if (rest.Count > 0)
        {
            await Console.Error.WriteLineAsync($"Unknown argument '{rest[0]}'.\n{Usage}");
            return null;
        }

        try
        {
            var (settings, source) = BridgeSettingsLoader.Load(path);
            return (settings, source, options);
        }
        catch (BridgeSettingsException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid bridge settings: {ex.Message}");
            return null;
        }
    }
}
