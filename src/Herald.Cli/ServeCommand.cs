using System.CommandLine;
using Herald.Bridge;
using Microsoft.AspNetCore.Connections;
using Herald.Server.Hosting;
using Herald.Server;
using Microsoft.Extensions.Options;

namespace Herald.Cli;

/// <summary><c>herald serve</c> (also <c>herald</c> alone): runs the gateway.</summary>
/// <remarks>
/// Every token the command does not declare goes to ASP.NET Core configuration as it is, so
/// <c>--Herald:Storage:Provider=postgres</c> (or <c>--Herald:Storage:Provider postgres</c>) sets a setting for
/// this run exactly as the environment variable <c>Herald__Storage__Provider</c> would.
/// </remarks>
internal static class ServeCommand
{
    private static readonly Option<string> Urls = new("--urls")
    {
        Description = $"Where to listen, e.g. http://0.0.0.0:8000 (default {HeraldOptions.DefaultUrl}, or ASPNETCORE_URLS).",
    };

    public static Command Create()
    {
        var command = new Command("serve", "Run the gateway. Any --Section:Key=value after it sets a configuration value for this run.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.Options.Add(Urls);
        command.SetAction(RunAsync);
        return command;
    }

    public static async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        if (result.UnmatchedTokens.Count > 0 && IsBareWord(result.UnmatchedTokens[0]))
        {
            return await HeraldCommandLine.FailUsageAsync(result, $"Unknown command '{result.UnmatchedTokens[0]}'.");
        }

        WebApplication app;
        try
        {
            app = HeraldApp.Build(ConfigurationArguments(result, Urls));
        }
        catch (BridgeSettingsException ex)
        {
            // One line naming the setting, not a stack trace: the operator has a decision to make.
            await Console.Error.WriteLineAsync($"Invalid bridge settings: {ex.Message}");
            return HeraldCommandLine.UsageError;
        }
        catch (OptionsValidationException ex)
        {
            return await InvalidConfigurationAsync(ex);
        }
        catch (Exception ex) when (StartFailure(ex) is { } line)
        {
            await Console.Error.WriteLineAsync(line);
            return HeraldCommandLine.Failed;
        }

        await using (app)
        {
            try
            {
                await app.RunAsync(cancellationToken);
            }
            catch (Exception ex) when (StartFailure(ex) is { } line)
            {
                await Console.Error.WriteLineAsync(line);
                return HeraldCommandLine.Failed;
            }
        }

        return 0;
    }

    /// <summary>
    /// What stops a node from starting where it was started, as one line naming the setting or address and what was
    /// expected; null for anything else, which is a bug and keeps its stack trace.
    /// </summary>
    internal static string? StartFailure(Exception ex) => ex switch
    {
        HeraldStartupException startup => startup.Message,
        IOException { InnerException: AddressInUseException } bind =>
            $"{bind.Message.TrimEnd('.')}. Expected a free address: stop what listens there, or set --urls (ASPNETCORE_URLS) to another port.",
        _ => null,
    };

    /// <summary>One line per wrong <c>Herald:*</c> setting (the validator's lines name the key), exit code 2.</summary>
    internal static async Task<int> InvalidConfigurationAsync(OptionsValidationException ex)
    {
        foreach (var failure in ex.Failures)
        {
            await Console.Error.WriteLineAsync($"Invalid configuration: {failure}");
        }

        return HeraldCommandLine.UsageError;
    }

    /// <summary>The tokens for ASP.NET Core configuration: the undeclared ones, plus <paramref name="urls"/> when given.</summary>
    internal static string[] ConfigurationArguments(ParseResult result, Option<string>? urls = null)
    {
        List<string> args = [.. result.UnmatchedTokens];
        if (urls is not null && result.GetValue(urls) is { } value)
        {
            args.AddRange(["--urls", value]);
        }

        return [.. args];
    }

    // A first token that is neither an option nor key=value is a mistyped command, not configuration.
    private static bool IsBareWord(string token) => !token.StartsWith('-') && !token.Contains('=', StringComparison.Ordinal);
}
