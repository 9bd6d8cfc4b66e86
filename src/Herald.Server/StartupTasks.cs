using Herald.Server.Auth;
using Herald.Server.Dialogs;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Herald.Server;

/// <summary>
/// Runs before the node serves: creates or migrates the schema, creates the first operator, and positions
/// the dispatcher at the store's newest event. Prints where Herald listens and how to log in.
/// </summary>
internal sealed class StartupTasks(
    SqlStore store,
    EventDispatcher dispatcher,
    OperatorPasswords passwords,
    IConfiguration configuration,
    IHostEnvironment environment,
    IOptions<HeraldOptions> options,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<StartupTasks> logger) : IHostedService
{
    public const string DevelopmentAdminEmail = "admin@herald.local";
    public const string DevelopmentAdminPassword = "herald-dev-password";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Auth.SigningKey == TokenService.DevelopmentSigningKey)
        {
            logger.LogWarning("Herald:Auth:SigningKey is not set: using the Development default key. Never run like this in production.");
        }

        await store.MigrateAsync(cancellationToken);
        var login = await EnsureFirstOperatorAsync(cancellationToken);
        await dispatcher.InitializeAsync(cancellationToken);
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var first = addresses.FirstOrDefault() ?? HeraldApp.DefaultUrl;
            logger.LogInformation("Herald listening on {Addresses} (storage: {Provider})", string.Join(", ", addresses), store.Dialect.Name);
            if (login is { } l)
            {
                logger.LogInformation("Log in: curl -X POST {Url}/api/auth/login -H 'Content-Type: application/json' -d '{{\"email\":\"{Email}\",\"password\":\"{Password}\"}}'",
                    first, l.Email, l.Password);
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Returns the credentials to print, only for the well-known Development account (never a configured password).
    private async Task<(string Email, string Password)?> EnsureFirstOperatorAsync(CancellationToken ct)
    {
        if (await store.CountOperatorsAsync(ct) > 0)
        {
            return environment.IsDevelopment() && await store.FindOperatorByEmailAsync(DevelopmentAdminEmail, ct) is not null
                ? (DevelopmentAdminEmail, DevelopmentAdminPassword)
                : null;
        }

        var email = configuration["HERALD_ADMIN_EMAIL"];
        var password = configuration["HERALD_ADMIN_PASSWORD"];
        if (!string.IsNullOrWhiteSpace(email) && !string.IsNullOrEmpty(password))
        {
            if (await CreateAsync(email, password, ct))
            {
                logger.LogInformation("Created the first operator {Email} from HERALD_ADMIN_EMAIL", email);
            }

            return null;
        }

        if (environment.IsDevelopment())
        {
            await CreateAsync(DevelopmentAdminEmail, DevelopmentAdminPassword, ct);
            return (DevelopmentAdminEmail, DevelopmentAdminPassword);
        }

        logger.LogWarning("No operator exists. Set HERALD_ADMIN_EMAIL and HERALD_ADMIN_PASSWORD, or run: herald users add --email E --password P");
        return null;
    }

    // False when another node starting at the same moment created it first: that is as good.
    private async Task<bool> CreateAsync(string email, string password, CancellationToken ct)
    {
        // Startup runs before the writer loop, so this one write goes to the store directly.
        List<object?> results = [];
        try
        {
            await store.CommitBatchAsync([new CreateOperatorCommand(email.Trim().ToLowerInvariant(), passwords.Hash(password))], results, ct);
            return true;
        }
        catch (StoreValidationException)
        {
            return false;
        }
    }
}
