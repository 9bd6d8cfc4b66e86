using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Herald.Cli.Doctor;
using Herald.Cli.Seed004;

namespace Herald.Cli;

/// <summary>
/// The <c>herald</c> command tree, declared with System.CommandLine: it gives every command <c>--help</c>,
/// typed and validated options, and one way to report a usage error.
/// </summary>
public static class HeraldCommandLine
{
    /// <summary>
    /// Exit code for a command line that could not be understood, or settings that are wrong (a <c>Herald:*</c> value
    /// the validator refuses, bridge settings): the operator must change how Herald is started. docs/deploy.md.
    /// </summary>
    public const int UsageError = 2;

    /// <summary>
    /// Exit code for a command that ran and failed: a doctor check, a duplicate operator, a node that cannot start where
    /// it was started (port in use, data directory not writable). docs/deploy.md.
    /// </summary>
    public const int Failed = 1;

    private static readonly HashSet<string> HostingCommands = ["serve", "bridge", "testserver"];

    /// <summary>Builds the command tree; <c>herald</c> alone runs <c>serve</c>.</summary>
    public static RootCommand Build()
    {
        var serve = ServeCommand.Create();
        var root = new RootCommand("Herald: a real-time gateway (SSE, WebSocket, long-polling) that never loses or repeats a message.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        foreach (var option in serve.Options)
        {
            root.Options.Add(option);
        }

        root.SetAction(ServeCommand.RunAsync);
        root.Subcommands.Add(serve);
        root.Subcommands.Add(UsersCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        foreach (var command in BridgeCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>Parses and runs; parse errors print the reason and a pointer to <c>--help</c>, exit code 2.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var result = Build().Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                await Console.Error.WriteLineAsync(error.Message);
            }

            await Console.Error.WriteLineAsync($"Run '{CommandName(result)} --help' for usage.");
            return UsageError;
        }

        // The commands that host a server (serve, bridge, testserver) leave SIGTERM and Ctrl+C to the host, which drains
        // streams first (docs/deploy.md); System.CommandLine's own handling would end the process after 2 s (exit 143).
        var configuration = new InvocationConfiguration();
        if (HostingCommands.Contains(result.CommandResult.Command.Name) || result.CommandResult.Command is RootCommand)
        {
            configuration.ProcessTerminationTimeout = null;
        }

        return await result.InvokeAsync(configuration);
    }

    /// <summary>Writes a usage error for a rule that spans several options, and gives its exit code.</summary>
    internal static async Task<int> FailUsageAsync(ParseResult result, string message)
    {
        await Console.Error.WriteLineAsync($"{message}\nRun '{CommandName(result)} --help' for usage.");
        return UsageError;
    }

    /// <summary>A parser for a number option that must satisfy <paramref name="valid"/>; anything else is <paramref name="message"/>.</summary>
    internal static T ParseNumber<T>(ArgumentResult result, Func<T, bool> valid, string message)
        where T : ISpanParsable<T>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (T.TryParse(text, CultureInfo.InvariantCulture, out var value) && valid(value))
        {
            return value;
        }

        result.AddError(message);
        return default!;
    }

    private static string CommandName(ParseResult result)
    {
        List<string> names = [];
        for (SymbolResult? symbol = result.CommandResult; symbol is CommandResult command && command.Command is not RootCommand; symbol = symbol.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        return string.Join(' ', ["herald", .. names]);
    }
}
