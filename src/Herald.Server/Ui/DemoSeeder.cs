using Herald.Protocol.Web;
using Herald.Server.Auth;
using Herald.Server.Dialogs;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Herald.Server.Ui;

/// <summary>
/// Creates the demo assistant ("Demo shop") and its widget token on start, so that <c>dotnet run</c> followed by
/// opening <c>/demo</c> and <c>/console</c> shows a visitor and an operator talking. Idempotent: the assistant is
/// found by name and the token is derived (<see cref="DemoSite.DeriveToken"/>), so restarts create nothing new.
/// </summary>
internal sealed class DemoSeeder(
    SqlStore store,
    EventHub hub,
    WidgetTokenService tokens,
    DemoSite site,
    IOptions<HeraldOptions> options,
    IConfiguration configuration,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<DemoSeeder> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            site.Set(await SeedAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is StoreValidationException or System.Data.Common.DbException)
        {
            // The demo is a convenience: a node that cannot seed it (e.g. another node won a race) still serves.
            UiLog.DemoSetupFailed(logger, ex);
            return;
        }

        lifetime.ApplicationStarted.Register(() =>
        {
            var url = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? HeraldOptions.DefaultUrl;
            UiLog.DemoReady(logger, url);
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<DemoSite.Info> SeedAsync(CancellationToken ct)
    {
        var assistant = (await store.ListAssistantsAsync(ct)).FirstOrDefault(a => a.Name == DemoSite.AssistantName)
            ?? await hub.ExecuteAsync(new CreateAssistantCommand(DemoSite.AssistantName, null), ct);
        var token = DemoSite.DeriveToken(options.Value.Auth.SigningKey!, assistant.Id, assistant.DomainsVersion);
        var existing = await store.FindWidgetTokenAsync(WidgetTokenService.Hash(token), ct);
        if (existing is null)
        {
            await hub.ExecuteAsync(new CreateWidgetTokenCommand(assistant.Id, OwnHosts(), null, token), ct);
            tokens.Invalidate();
        }
        else if (existing.RevokedAt is not null)
        {
            UiLog.DemoTokenRevoked(logger, DemoSite.AssistantName);
        }

        return new DemoSite.Info(assistant.Id, token);
    }

    /// <summary>The hosts Herald is configured to listen on (wildcards excluded): the demo page is served from one of them.</summary>
    private List<string> OwnHosts()
    {
        var urls = configuration["urls"];
        var hosts = new List<string>();
        foreach (var url in (string.IsNullOrWhiteSpace(urls) ? HeraldOptions.DefaultUrl : urls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Host is not ("0.0.0.0" or "[::]" or "") && DomainRules.Normalize([uri.Host]).Error is null)
            {
                hosts.Add(uri.Host.ToLowerInvariant());
            }
        }

        return [.. hosts.Distinct()];
    }
}
