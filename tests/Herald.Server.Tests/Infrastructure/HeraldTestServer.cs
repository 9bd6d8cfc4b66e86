using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server;
using Herald.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Herald.Server.Hosting;

namespace Herald.Server.Tests.Infrastructure;

/// <summary>
/// A real Herald node (Kestrel on 127.0.0.1, a free port, SQLite in a temporary directory) for one test class
/// or test. Development environment, so the well-known admin account exists.
/// </summary>
public sealed class HeraldTestServer : IAsyncDisposable
{
    public const string AdminEmail = "admin@herald.local";
    public const string AdminPassword = "herald-dev-password";

    private readonly WebApplication _app;
    private readonly bool _ownsDirectory;
    private HeraldTestServer(WebApplication app, string dataDirectory, bool ownsDirectory, LogCapture logs)
    {
        _app = app;
        Logs = logs;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>What the node logged (at the levels its configuration lets through; Warning unless a test sets <c>Logging:LogLevel:*</c>).</summary>
    public LogCapture Logs { get; }

    /// <summary>Starts a node. <paramref name="settings"/> are configuration keys such as <c>Herald:Streams:HeartbeatInterval</c>.</summary>
    public static async Task<HeraldTestServer> StartAsync(IDictionary<string, string>? settings = null, string? dataDirectory = null, int port = 0,
        string environment = "Development")
    {
        var owns = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("herald-test-").FullName;
        var args = new List<string>
        {
            "--urls", $"http://127.0.0.1:{port}",
            "--environment", environment,
            $"--Herald:Storage:DataDirectory={dataDirectory}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            // Tests post fast from one address; the tests of the limits set them explicitly.
            "--Herald:Limits:MessagesPerIpPerSecond=0",
            "--Herald:Limits:DialogsPerIpPerMinute=0",
            "--Herald:Limits:DialogsPerAssistantPerMinute=0",
            "--Herald:Limits:MessagesPerGuestPerSecond=0",
            "--Herald:Limits:LoginsPerIpPerMinute=0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            args.Add($"--{key}={value}");
        }

        var logs = new LogCapture();
        var app = HeraldApp.Build([.. args], builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        return new HeraldTestServer(app, dataDirectory, owns, logs);
    }

    public T GetService<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public async Task<string> LoginAsync()
    {
        using var response = await Client.PostAsJsonAsync("/api/auth/login", new { email = AdminEmail, password = AdminPassword });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("access_token").GetString()!;
    }

    /// <summary>An HttpClient that sends the operator token as a Bearer header.</summary>
    public async Task<HttpClient> OperatorClientAsync()
    {
        var token = await LoginAsync();
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task<long> CreateAssistantAsync(string name = "Shop")
    {
        using var op = await OperatorClientAsync();
        using var response = await op.PostAsJsonAsync("/api/assistants", new { name });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    /// <summary>Creates (or returns) the dialog of <paramref name="guestId"/> with a new or given assistant.</summary>
    public async Task<Guest> OpenGuestDialogAsync(string guestId = "guest-1", long? assistantId = null)
    {
        var assistant = assistantId ?? await CreateAssistantAsync();
        using var response = await Client.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id={guestId}", null);
        response.EnsureSuccessStatusCode();
        var dialogId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        return new Guest(assistant, guestId, dialogId);
    }

    public async Task<JsonElement> PostGuestMessageAsync(Guest guest, string text)
    {
        using var response = await Client.PostAsJsonAsync($"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}", new { sender = "user", text });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.IsSuccessStatusCode, $"POST message failed: {(int)response.StatusCode} {body}{ServerErrors()}");
        return body;
    }

    /// <summary>The server's Error and Critical log entries so far, for a failure message (empty when there are none).</summary>
    public string ServerErrors() => Logs.Text(LogLevel.Error);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await _app.StopAsync(cts.Token);
        }

        await _app.DisposeAsync();
        if (_ownsDirectory)
        {
            // The node's store has closed its own pooled connections; ClearAllPools here would also close those of
            // the nodes other tests are running at this moment (a 500 in an unrelated test).
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>A guest identity and its dialog.</summary>
public sealed record Guest(long AssistantId, string GuestId, long DialogId)
{
    public string Query => $"assistant_id={AssistantId}&guest_id={GuestId}";
}
