using Herald.Server.Auth;
using Herald.Server.Dialogs;
using Herald.Server.Storage;

namespace Herald.Server.Cli;

/// <summary><c>herald users add --email E --password P</c>: creates an operator in the configured store.</summary>
internal static class UsersCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rest = args.ToList();
        if (rest.Count == 0 || rest[0] != "add")
        {
            await Console.Error.WriteLineAsync("Usage: herald users add --email EMAIL --password PASSWORD");
            return 2;
        }

        rest.RemoveAt(0);
        var email = HeraldCommandLine.TakeOption(rest, "--email");
        var password = HeraldCommandLine.TakeOption(rest, "--password") ?? Environment.GetEnvironmentVariable("HERALD_NEW_PASSWORD");
        if (string.IsNullOrWhiteSpace(email) || string.IsNullOrEmpty(password))
        {
            await Console.Error.WriteLineAsync("Both --email and --password (or HERALD_NEW_PASSWORD) are required.");
            return 2;
        }

        // The same configuration (appsettings, environment, --Herald:...) the server would use, without serving.
        await using var app = HeraldApp.Build([.. rest, "--urls", "http://127.0.0.1:0"]);
        var store = app.Services.GetRequiredService<SqlStore>();
        await store.MigrateAsync();
        var hash = app.Services.GetRequiredService<OperatorPasswords>().Hash(password);
        try
        {
            List<object?> results = [];
            await store.CommitBatchAsync([new CreateOperatorCommand(email.Trim().ToLowerInvariant(), hash)], results, CancellationToken.None);
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
