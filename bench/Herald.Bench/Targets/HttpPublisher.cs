using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>
/// Channels of a target whose publish is one POST per message (Nchan's publisher location and the SignalR peer's
/// <c>/publish</c> with the message as a plain-text body; the Mercure hub with a form and a bearer token), over
/// keep-alive HTTP/1.1 like Herald's publishers.
/// </summary>
internal sealed class HttpPublisher : IBenchChannels
{
    private readonly HttpClient _http;
    private readonly ChannelSpec _spec;
    private readonly Func<string, string> _subscribeTarget;
    private readonly Func<string, string> _publishPath;
    private readonly Func<string, string, HttpContent> _body;

    /// <param name="subscribeTarget">Channel name → the worker's target (an SSE path, a SignalR group).</param>
    /// <param name="publishPath">Channel name → the path to POST to.</param>
    /// <param name="body">(channel name, message with its padding) → the POST's body; default: the message as text/plain.</param>
    /// <param name="bearer">A token sent with every POST (<c>Authorization: Bearer</c>), or null.</param>
    public HttpPublisher(Uri baseAddress, ChannelSpec spec, Func<string, string> subscribeTarget, Func<string, string> publishPath,
        Func<string, string, HttpContent>? body = null, string? bearer = null)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = spec.Publishers,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        _spec = spec;
        _subscribeTarget = subscribeTarget;
        _publishPath = publishPath;
        _body = body ?? ((_, message) => new StringContent(message, Encoding.UTF8, "text/plain"));
    }

    public string SetupSummary => "";

    public Subscription Subscribe(int channel, int subscriber) => new(_subscribeTarget($"{_spec.Prefix}-{channel}"), channel);

    public async Task<bool> PublishAsync(int channel, string text)
    {
        // The padding after a space: the marker parser stops at the first character that is not a digit.
        var name = $"{_spec.Prefix}-{channel}";
        using var content = _body(name, _spec.Padding.Length == 0 ? text : text + " " + _spec.Padding);
        using var response = await _http.PostAsync(_publishPath(name), content);
        return response.IsSuccessStatusCode;
    }

    public void Dispose() => _http.Dispose();
}
