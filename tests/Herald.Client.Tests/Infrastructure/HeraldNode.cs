using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Herald.Server.Hosting;

namespace Herald.Client.Tests.Infrastructure;

/// <summary>
/// A real Herald node hosted in-process (Kestrel on 127.0.0.1, SQLite in a temporary directory) that can be
/// restarted on the same port with the same data — what a client sees when a deployment restarts.
/// </summary>
/// <remarks>
/// Herald.Server.Tests has a HeraldTestServer for its own tests; this one exists for what the client tests need
/// and it does not: restart in place, and a stop that does not wait for open streams.
/// </remarks>
public sealed class HeraldNode : IAsyncDisposable
{
    /// <summary>The Development environment's well-known operator.</summary>
    public const string AdminEmail = "admin@herald.local";
    public const string AdminPassword = "herald-dev-password";

    private readonly IDictionary<string, string> _settings;
    private WebApplication? _app;

    private HeraldNode(IDictionary<string, string> settings)
    {
        _settings = settings;
        DataDirectory = Directory.CreateTempSubdirectory("herald-client-test-").FullName;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public string DataDirectory { get; }

    public static async Task<HeraldNode> StartAsync(IDictionary<string, string>? settings = null)
    {
        var node = new HeraldNode(settings ?? new Dictionary<string, string>());
        await node.LaunchAsync(port: 0);
        return node;
    }

    /// <summary>Stops the node (open streams are cut, as in a crash or a drain) and starts it again on the same port and data.</summary>
    public async Task RestartAsync()
    {
        var port = BaseAddress.Port;
        await StopAsync();
        await LaunchAsync(port);
    }

    /// <summary>The node's <c>/api/sse/stats</c>.</summary>
    public async Task<JsonElement> StatsAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetFromJsonAsync<JsonElement>("/api/sse/stats");
    }

    public async Task<string> LoginAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.PostAsJsonAsync("/api/auth/login", new { email = AdminEmail, password = AdminPassword });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    public async Task<long> CreateAssistantAsync(string token, string name = "Client tests")
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await http.PostAsJsonAsync("/api/assistants", new { name });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private async Task LaunchAsync(int port)
    {
        var args = new List<string>
        {
            "--urls", $"http://127.0.0.1:{port}",
            "--environment", "Development",
            $"--Herald:Storage:DataDirectory={DataDirectory}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            // Client tests log in and post more often than the per-IP/per-guest rate limits allow; tests may re-enable them.
            "--Herald:Limits:MessagesPerIpPerSecond=0",
            "--Herald:Limits:DialogsPerIpPerMinute=0",
            "--Herald:Limits:DialogsPerAssistantPerMinute=0",
            "--Herald:Limits:MessagesPerGuestPerSecond=0",
            "--Herald:Limits:LoginsPerIpPerMinute=0",
        };
        args.AddRange(_settings.Select(kv => $"--{kv.Key}={kv.Value}"));
        var app = HeraldApp.Build([.. args]);
        await app.StartAsync();
        _app = app;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        // Kestrel waits for in-flight requests until this token fires, then aborts them; SSE streams never finish
        // on their own, so a short wait is what cuts them.
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            try
            {
                await _app.StopAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        // Disposing the app disposes its store, which closes its own pooled connections (never ClearAllPools: other
        // nodes of the same test process may be serving).
        await _app.DisposeAsync();
        _app = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
