namespace Herald.Server.Cli;

/// <summary>Dispatches <c>herald &lt;command&gt;</c>. Options not consumed by a command go to ASP.NET Core configuration.</summary>
public static class HeraldCommandLine
{
    public const string Usage = """
        herald [serve] [--urls URL] [--Herald:Section:Key=value ...]   run the server (default http://localhost:8000)
        herald users add --email EMAIL --password PASSWORD              create an operator in the configured store
        herald doctor BASE_URL [--token JWT | --assistant-id N ...]      check a deployment end to end (seed 000's checklist)
        herald bridge [--settings PATH]                                 the WebSocket-to-SSE bridge of seed 004 (docs/bridge.md)
        herald testserver [--settings PATH]                             seed 004's test SSE server
        herald testclient [--settings PATH] [--url WS_URL] [--token T]  seed 004's test client
        herald help                                                     this text
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = command == "serve" && (args.Length == 0 || args[0].StartsWith('-')) ? args : args.Skip(1).ToArray();
        switch (command)
        {
            case "serve":
                WebApplication app;
                try
                {
                    app = HeraldApp.Build(rest);
                }
                catch (Bridge.BridgeSettingsException ex)
                {
                    // One line naming the setting, not a stack trace: the operator has a decision to make.
                    await Console.Error.WriteLineAsync($"Invalid bridge settings: {ex.Message}");
                    return 2;
                }

                await app.RunAsync();
                return 0;
            case "users":
                return await UsersCommand.RunAsync(rest);
            case "doctor":
                return await Doctor.DoctorCommand.RunAsync(rest);
            case "bridge":
                return await Bridge.BridgeCommands.RunBridgeAsync(rest);
            case "testserver":
                return await Bridge.BridgeCommands.RunTestServerAsync(rest);
            case "testclient":
                return await Bridge.BridgeCommands.RunTestClientAsync(rest);
            case "help" or "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{command}'.\n{Usage}");
                return 2;
        }
    }

    /// <summary>Takes <c>--name value</c> (or <c>--name=value</c>) out of <paramref name="args"/>.</summary>
    public static string? TakeOption(List<string> args, string name)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name && i + 1 < args.Count)
            {
                var value = args[i + 1];
                args.RemoveRange(i, 2);
                return value;
            }

            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                var value = args[i][(name.Length + 1)..];
                args.RemoveAt(i);
                return value;
            }
        }

        return null;
    }
}
