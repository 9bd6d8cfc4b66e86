using System.CommandLine;
using Herald.Server.Auth;
using Herald.Server.Dialogs;
using Herald.Server.Hosting;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Cli;

/// <summary><c>herald users add --email E --password P</c>: creates an operator in the configured store.</summary>
internal static class UsersCommand
{
    private static readonly Option<string> Email = new("--email") { Description = "The operator's email (their login).", Required = true };

    private static readonly Option<string> Password = new("--password")
    {
        Description = "The operator's password (or set HERALD_NEW_PASSWORD, which keeps it out of the shell history).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HERALD_NEW_PASSWORD")!,
    };

    public static Command Create()
    {
        var add = new Command("add", "Create an operator in the configured store (the same configuration the server reads; --Section:Key=value after it sets a value).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        add.Options.Add(Email);
        add.Options.Add(Password);
        add.SetAction(AddAsync);
        return new Command("users", "Manage operators.") { Subcommands = { add } };
    }

    private static async Task<int> AddAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var email = result.GetRequiredValue(Email);
        var password = result.GetValue(Password);
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            return await HeraldCommandLine.FailUsageAsync(result, "Both --email and --password (or HERALD_NEW_PASSWORD) are required.");
        }

        // The same configuration (appsettings, environment, --Herald:...) the server would use, without serving.
        WebApplication app;
        try
        {
            app = HeraldApp.Build([.. ServeCommand.ConfigurationArguments(result), "--urls", "http://127.0.0.1:0"]);
        }
        catch (OptionsValidationException ex)
        {
            return await ServeCommand.InvalidConfigurationAsync(ex);
        }

        await using var owned = app;
        var store = app.Services.GetRequiredService<SqlStore>();
        await store.MigrateAsync(cancellationToken);
        var hash = app.Services.GetRequiredService<OperatorPasswords>().Hash(password);
        try
        {
            List<object?> results = [];
            await store.CommitBatchAsync([new CreateOperatorCommand(email.Trim().ToLowerInvariant(), hash)], results, cancellationToken);
            var created = (OperatorRecord)results[0]!;
            Console.WriteLine($"Created operator {created.Email} (id {created.Id}).");
            return 0;
        }
        catch (StoreValidationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
    }
}
