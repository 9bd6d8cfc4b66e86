using System.CommandLine;
using System.Globalization;
using Herald.Server.Auth;
using Herald.Server.Hosting;
using Herald.Server.Pipeline;
using Microsoft.Extensions.Options;

namespace Herald.Cli;

/// <summary>
/// <c>herald users add | list | passwd | name | remove</c>: operators in the configured store. Needs only the storage settings
/// (<see cref="HeraldApp.OpenStore"/>), never the signing key; new emails and passwords follow
/// <see cref="OperatorAccountRules"/>, the rules the first operator from <c>HERALD_ADMIN_*</c> follows too.
/// </summary>
internal static class UsersCommand
{
    private const string ConfigurationNote = " (the server's configuration; --Section:Key=value after it sets a value)";

    private static readonly Option<string> Email = new("--email") { Description = "The operator's email (their login).", Required = true };

    private static readonly Option<string> Password = new("--password")
    {
        Description = $"The password, at least {OperatorAccountRules.MinPasswordLength} characters (or set HERALD_NEW_PASSWORD, which keeps it out of the shell history).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HERALD_NEW_PASSWORD")!,
    };

    private static readonly Option<string> Name = new("--name")
    {
        Description = "The display name visitors see on the operator's messages (default: from the email's local part, jane.doe@… → Jane Doe).",
    };

    private static readonly Option<string> RequiredName = new("--name")
    {
        Description = "The display name visitors see on the operator's messages; \"\" goes back to the default (from the email's local part).",
        Required = true,
    };

    public static Command Create()
    {
        var add = Configurable(new Command("add", "Create an operator" + ConfigurationNote) { Email, Password, Name });
        add.SetAction(async (result, ct) =>
        {
            var name = result.GetValue(Name)?.Trim();
            if (name is not null && OperatorAccountRules.DisplayNameProblem(name) is { } problem)
            {
                return await HeraldCommandLine.FailUsageAsync(result, Sentence(problem));
            }

            return await WithPasswordAsync(result, (accounts, email, password, ct) => accounts.AddAsync(email, password, name, ct), "Created", ct);
        });

        var list = Configurable(new Command("list", "List the operators: id, email, created (UTC), display name" + ConfigurationNote));
        list.SetAction(ListAsync);

        var passwd = Configurable(new Command("passwd", "Set an operator's password" + ConfigurationNote) { Email, Password });
        passwd.SetAction((result, ct) => WithPasswordAsync(result, static (accounts, email, password, ct) => accounts.SetPasswordAsync(email, password, ct), "Changed the password of", ct));

        var rename = Configurable(new Command("name", "Set the display name visitors see on an operator's messages" + ConfigurationNote) { Email, RequiredName });
        rename.SetAction(async (result, ct) =>
        {
            var name = result.GetRequiredValue(RequiredName).Trim();
            if (name.Length > 0 && OperatorAccountRules.DisplayNameProblem(name) is { } problem)
            {
                return await HeraldCommandLine.FailUsageAsync(result, Sentence(problem));
            }

            return await RunAsync(result, async accounts =>
            {
                var account = await accounts.SetDisplayNameAsync(result.GetRequiredValue(Email), name.Length == 0 ? null : name, ct);
                Console.WriteLine($"Operator {account.Email} (id {account.Id}) is shown to visitors as {OperatorAccountRules.DisplayNameOf(account)}.");
            }, ct);
        });

        var remove = Configurable(new Command("remove", "Remove an operator; the tokens they hold stay valid until they expire (Herald:Auth:TokenLifetime)" + ConfigurationNote) { Email });
        remove.SetAction((result, ct) => RunAsync(result, async accounts =>
        {
            var removed = await accounts.RemoveAsync(result.GetRequiredValue(Email), ct);
            Console.WriteLine($"Removed operator {removed.Email} (id {removed.Id}).");
        }, ct));

        return new Command("users", "Manage operators.") { Subcommands = { add, list, passwd, rename, remove } };
    }

    private static Command Configurable(Command command)
    {
        command.TreatUnmatchedTokensAsErrors = false;
        return command;
    }

    private static Task<int> ListAsync(ParseResult result, CancellationToken ct) => RunAsync(result, async accounts =>
    {
        foreach (var account in await accounts.ListAsync(ct))
        {
            var created = DateTimeOffset.FromUnixTimeMilliseconds(account.CreatedAt).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            Console.WriteLine($"{account.Id}\t{account.Email}\t{created}\t{OperatorAccountRules.DisplayNameOf(account)}");
        }
    }, ct);

    /// <summary><c>add</c> and <c>passwd</c>: the email and password checked by the shared rules before the store is opened.</summary>
    private static async Task<int> WithPasswordAsync(ParseResult result,
        Func<OperatorAccounts, string, string, CancellationToken, Task<Herald.Server.Storage.OperatorRecord>> write, string done, CancellationToken ct)
    {
        var email = result.GetRequiredValue(Email);
        var password = result.GetValue(Password);
        var problem = string.IsNullOrEmpty(password)
            ? "--password (or HERALD_NEW_PASSWORD) is required"
            : OperatorAccountRules.EmailProblem(email) ?? OperatorAccountRules.PasswordProblem(password);
        if (problem is not null)
        {
            return await HeraldCommandLine.FailUsageAsync(result, Sentence(problem));
        }

        return await RunAsync(result, async accounts =>
        {
            var account = await write(accounts, email, password!, ct);
            Console.WriteLine($"{done} operator {account.Email} (id {account.Id}).");
        }, ct);
    }

    private static string Sentence(string problem) => char.ToUpperInvariant(problem[0]) + problem[1..] + ".";

    /// <summary>
    /// Opens the configured store (the same configuration the server reads, without serving), runs <paramref name="body"/>,
    /// and turns the expected failures into one line: a wrong storage setting (exit 2), a store that cannot be opened
    /// or an email that is taken or unknown (exit 1).
    /// </summary>
    private static async Task<int> RunAsync(ParseResult result, Func<OperatorAccounts, Task> body, CancellationToken ct)
    {
        try
        {
            await using var store = HeraldApp.OpenStore(ServeCommand.ConfigurationArguments(result));
            await HeraldApp.MigrateAsync(store, ct);
            await body(new OperatorAccounts(store, new OperatorPasswords()));
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            return await ServeCommand.InvalidConfigurationAsync(ex);
        }
        catch (Exception ex) when (ex is StoreValidationException || ServeCommand.StartFailure(ex) is not null)
        {
            await Console.Error.WriteLineAsync(ServeCommand.StartFailure(ex) ?? ex.Message);
            return HeraldCommandLine.Failed;
        }
    }
}
