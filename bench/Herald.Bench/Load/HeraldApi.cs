using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Herald.Bench.Load;

/// <summary>The few Herald HTTP calls the scenarios make (setup and publishing), over keep-alive HTTP/1.1.</summary>
internal sealed class HeraldApi : IDisposable
{
    public const string DevEmail = "admin@herald.local";
    public const string DevPassword = "herald-dev-password";

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;

    public HeraldApi(Uri baseAddress, int connections)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public string? Token { get; private set; }

    public async Task<string> LoginAsync(CancellationToken ct = default)
    {
        using var response = await _http.PostAsync("/api/auth/login", Body($$"""{"email":"{{DevEmail}}","password":"{{DevPassword}}"}"""), ct);
        Token = (await ReadJsonAsync(response, ct)).GetProperty("access_token").GetString()!;
        return Token;
    }

    public async Task<long> CreateAssistantAsync(string name, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/assistants") { Content = Body(JsonSerializer.Serialize(new Dictionary<string, string> { ["name"] = name })) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await _http.SendAsync(request, ct);
        return (await ReadJsonAsync(response, ct)).GetProperty("id").GetInt64();
    }

    public async Task<long> OpenGuestDialogAsync(long assistantId, string guestId, CancellationToken ct = default)
    {
        using var response = await _http.PostAsync($"/api/widget/dialogs?assistant_id={assistantId}&guest_id={guestId}", null, ct);
        return (await ReadJsonAsync(response, ct)).GetProperty("id").GetInt64();
    }

    /// <summary>Posts a guest message; true on 201.</summary>
    public async Task<bool> PostGuestMessageAsync(long dialogId, long assistantId, string guestId, string text, CancellationToken ct = default)
    {
        using var content = Body($$"""{"sender":"user","text":"{{text}}"}""");
        using var response = await _http.PostAsync($"/api/widget/dialogs/{dialogId}/messages?assistant_id={assistantId}&guest_id={guestId}", content, ct);
        return response.StatusCode == HttpStatusCode.Created;
    }

    /// <summary>Publishes a durable event through <c>POST /api/publish</c>; true on 201.</summary>
    public async Task<bool> PublishAsync(string topic, string text, string padding, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/publish")
        {
            Content = Body($$$"""{"topic":"{{{topic}}}","event":"message","data":{"text":"{{{text}}}","pad":"{{{padding}}}"}}"""),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await _http.SendAsync(request, ct);
        return response.StatusCode == HttpStatusCode.Created;
    }

    public async Task<JsonElement> GetJsonAsync(string path, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync(path, ct);
        return await ReadJsonAsync(response, ct);
    }

    public async Task<string> GetTextAsync(string path, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync(path, ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync(ct);
    }

    public void Dispose() => _http.Dispose();

    private static StringContent Body(string json)
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = Json;
        return content;
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri}: {text}");
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }
}
