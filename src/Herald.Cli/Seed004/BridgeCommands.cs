using System.CommandLine;
using System.CommandLine.Parsing;
using Herald.Bridge;

namespace Herald.Cli.Seed004;

/// <summary><c>herald bridge</c>, <c>herald testserver</c> and <c>herald testclient</c>: seed 004's three programs.</summary>
internal static class BridgeCommands
{
    private static readonly Option<string> Settings = new("--settings")
    {
        Description = "Seed 004's settings.json (default: settings.json in the working directory, if there is one).",
    };

    private static readonly Option<Uri> Url = new("--url")
    {
        Description = "The bridge to connect to (default: ws://proxy.host:proxy.port/proxy.path from the settings).",
        CustomParser = ParseWebSocketUrl,
    };
    private static readonly Option<string> Token = new("--token") { Description = "The token to send in each request (default: proxy.token from the settings)." };

    public static IEnumerable<Command> Create()
    {
        var bridge = new Command("bridge", "Run seed 004's WebSocket-to-SSE bridge on its own (docs/bridge.md).") { Settings };
        bridge.SetAction(RunBridgeAsync);

        var testServer = new Command("testserver", "Run seed 004's test SSE server (the testServer section of the settings).") { Settings };
        testServer.SetAction(RunTestServerAsync);

        var testClient = new Command("testclient", "Run seed 004's test client against a bridge (the testClient section of the settings).") { Settings, Url, Token };
        testClient.SetAction(RunTestClientAsync);
        return [bridge, testServer, testClient];
    }

    private static async Task<int> RunBridgeAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (await LoadAsync(result) is not { } loaded)
        {
            return HeraldCommandLine.UsageError;
        }

        var (settings, source) = loaded;
        var proxy = settings.Proxy;
        await using var app = BridgeHost.Build(proxy);
        if (!await TryStartAsync(app, proxy.Host, proxy.Port))
        {
            return 1;
        }

        Console.WriteLine($"🚀 Herald bridge: ws://{Authority(proxy.Host, proxy.Port)}{proxy.Path} (settings: {source})");
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    private static async Task<int> RunTestServerAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (await LoadAsync(result) is not { } loaded)
        {
            return HeraldCommandLine.UsageError;
        }

        var server = loaded.Settings.TestServer;
        await using var app = TestSseServer.Build(server, Console.Out);
        if (!await TryStartAsync(app, server.Host, server.Port))
        {
            return 1;
        }

        Console.WriteLine($"🚀 Test SSE server: http://{Authority(server.Host, server.Port)}{TestSseServer.EventsPath} " +
            $"({server.ResponseCount} events, {server.ResponseDelay} ms apart; settings: {loaded.Source})");
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    private static async Task<int> RunTestClientAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (await LoadAsync(result) is not { } loaded)
        {
            return HeraldCommandLine.UsageError;
        }

        var proxy = loaded.Settings.Proxy;
        var uri = result.GetValue(Url) ?? new Uri($"ws://{Authority(proxy.Host, proxy.Port)}{proxy.Path}");
        try
        {
            return await TestBridgeClient.RunAsync(loaded.Settings, uri, result.GetValue(Token) ?? proxy.Token, Console.Out, cancellationToken);
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

    private static Uri ParseWebSocketUrl(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "ws" or "wss")
        {
            return url;
        }

        result.AddError($"--url '{text}' is not a ws:// or wss:// URL.");
        return null!;
    }

    private static string Authority(string host, int port) => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

    private static async Task<(BridgeSettings Settings, string Source)?> LoadAsync(ParseResult result)
    {
        try
        {
            return BridgeSettingsLoader.Load(result.GetValue(Settings));
        }
        catch (BridgeSettingsException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid bridge settings: {ex.Message}");
            return null;
        }
    }
}
