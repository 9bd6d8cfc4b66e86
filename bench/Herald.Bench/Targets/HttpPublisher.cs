using System.Net;
using System.Text;
using Herald.Bench.Load;

namespace Herald.Bench.Targets;

/// <summary>
/// Channels of a target whose publish is one POST with the message as a plain-text body (Nchan's publisher
/// location, the SignalR peer's <c>/publish</c>), over keep-alive HTTP/1.1 like Herald's publishers.
/// </summary>
internal sealed class HttpPublisher : IBenchChannels
{
    private readonly HttpClient _http;
    private readonly ChannelSpec _spec;
    private readonly Func<string, string> _subscribeTarget;
    private readonly Func<string, string> _publishPath;

    /// <param name="subscribeTarget">Channel name → the worker's target (an SSE path, a SignalR group).</param>
    /// <param name="publishPath">Channel name → the path to POST to.</param>
    public HttpPublisher(Uri baseAddress, ChannelSpec spec, Func<string, string> subscribeTarget, Func<string, string> publishPath)
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
        _spec = spec;
        _subscribeTarget = subscribeTarget;
        _publishPath = publishPath;
    }

    public string SetupSummary => "";

    public Subscription Subscribe(int channel, int subscriber) => new(_subscribeTarget($"{_spec.Prefix}-{channel}"), channel);

    public async Task<bool> PublishAsync(int channel, string text)
    {
        // The padding after a space: the marker parser stops at the first character that is not a digit.
        using var content = new StringContent(_spec.Padding.Length == 0 ? text : text + " " + _spec.Padding, Encoding.UTF8, "text/plain");
        using var response = await _http.PostAsync(_publishPath($"{_spec.Prefix}-{channel}"), content);
        return response.IsSuccessStatusCode;
    }

    public void Dispose() => _http.Dispose();
}
