using Herald.Server.Auth;
using Herald.Server.Operations;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Ui;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hosting;

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
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Auth.SigningKey == TokenService.DevelopmentSigningKey)
        {
            OperationsLog.DevelopmentSigningKey(logger);
        }

        await HeraldApp.MigrateAsync(store, cancellationToken);
        var login = await EnsureFirstOperatorAsync(cancellationToken);
        await dispatcher.InitializeAsync(cancellationToken);
        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var first = addresses.FirstOrDefault() ?? HeraldOptions.DefaultUrl;
            OperationsLog.Listening(logger, string.Join(", ", addresses), store.Dialect.Name, store.Location);
            if (login is { } l)
            {
                OperationsLog.LoginHint(logger, first, l.Email, l.Password);
            }
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Returns the credentials to print, only for the well-known Development account (never a configured password).
    private async Task<(string Email, string Password)?> EnsureFirstOperatorAsync(CancellationToken ct)
    {
        if (await store.CountOperatorsAsync(ct) > 0)
        {
            return environment.IsDevelopment() && await store.FindOperatorByEmailAsync(DemoSite.DevelopmentAdminEmail, ct) is not null
                ? (DemoSite.DevelopmentAdminEmail, DemoSite.DevelopmentAdminPassword)
                : null;
        }

        var email = configuration["HERALD_ADMIN_EMAIL"];
        var password = configuration["HERALD_ADMIN_PASSWORD"];
        if (!string.IsNullOrWhiteSpace(email) && !string.IsNullOrEmpty(password))
        {
            // The rules of herald users add: a first operator "admin" / "short" would be the weakest account of all.
            var problem = OperatorAccountRules.EmailProblem(email) is { } e ? $"HERALD_ADMIN_EMAIL: {e}"
                : OperatorAccountRules.PasswordProblem(password) is { } p ? $"HERALD_ADMIN_PASSWORD: {p}"
                : null;
            if (problem is not null)
            {
                throw new HeraldStartupException($"{problem}; the first operator was not created.");
            }

            if (await CreateAsync(email, password, ct))
            {
                OperationsLog.FirstOperatorCreated(logger, email);
            }

            return null;
        }

        if (environment.IsDevelopment())
        {
            await CreateAsync(DemoSite.DevelopmentAdminEmail, DemoSite.DevelopmentAdminPassword, ct);
            return (DemoSite.DevelopmentAdminEmail, DemoSite.DevelopmentAdminPassword);
        }

        OperationsLog.NoOperator(logger);
        return null;
    }

    // False when another node starting at the same moment created it first: that is as good.
    private async Task<bool> CreateAsync(string email, string password, CancellationToken ct)
    {
        // Startup runs before the writer loop, so this one write goes to the store directly.
        try
        {
            await new OperatorAccounts(store, passwords).AddAsync(email, password, displayName: null, ct);
            return true;
        }
        catch (StoreValidationException)
        {
            return false;
        }
    }
}
