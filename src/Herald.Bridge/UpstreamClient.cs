using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Herald.Bridge;

/// <summary>
/// Opens upstream HTTP requests under the allow-list. Scheme, host and port are checked before each request
/// (and each redirect); the resolved address is checked in <see cref="SocketsHttpHandler.ConnectCallback"/>,
/// which then connects to exactly that address, so DNS cannot answer differently between check and connect.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    private readonly BridgePolicy _policy;
    private readonly HostResolver _resolver;
    private readonly HttpMessageInvoker _invoker;

    public UpstreamClient(BridgePolicy policy, HostResolver? resolver = null)
    {
        _policy = policy;
        _resolver = resolver ?? ((host, ct) => Dns.GetHostAddressesAsync(host, ct));
        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by hand so every hop is checked; an environment proxy would make the
            // connection to the proxy, not to the address that was checked.
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromMilliseconds(policy.Limits.ConnectTimeout),
            ConnectCallback = ConnectAsync,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxResponseHeadersLength = 64,
            MaxResponseDrainSize = 0,
        };
        _invoker = new HttpMessageInvoker(handler);
    }

    /// <summary>
    /// Sends <paramref name="request"/>, following up to <c>maxRedirects</c> redirects, and returns the first
    /// non-redirect response with its headers read and its body unread.
    /// </summary>
    /// <param name="request">What the client asked for.</param>
    /// <param name="lastEventId">Sent as <c>Last-Event-ID</c> when resuming.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="BridgeUpstreamException">Refused, timed out, unreachable, or too many redirects.</exception>
    public async Task<HttpResponseMessage> SendAsync(UpstreamRequest request, string? lastEventId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_policy.Limits.ConnectTimeout);
        var uri = request.Uri;
        var method = request.Method;
        var body = request.Body;
        var origin = uri;
        for (var hop = 0; ; hop++)
        {
            if (_policy.CheckTarget(uri) is { } refusal)
            {
                throw new BridgeUpstreamException(refusal);
            }

            using var message = new HttpRequestMessage(method, uri);
            CopyHeaders(request, message, body, sameOrigin: IsSameOrigin(origin, uri));
            if (lastEventId is not null)
            {
                message.Headers.Remove("Last-Event-ID");
                message.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            }

            HttpResponseMessage response;
            try
            {
                response = await _invoker.SendAsync(message, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new BridgeUpstreamException($"The SSE server {Describe(uri)} did not answer within {_policy.Limits.ConnectTimeout} ms (proxy.limits.connectTimeout).", transient: true);
            }
            catch (HttpRequestException ex) when (Find<BridgeUpstreamException>(ex) is { } inner)
            {
                throw inner;
            }
            catch (HttpRequestException ex)
            {
                throw new BridgeUpstreamException($"Could not reach the SSE server {Describe(uri)}: {ex.Message}", transient: true, ex);
            }

            if (!IsRedirect(response.StatusCode) || response.Headers.Location is null)
            {
                return response;
            }

            var location = response.Headers.Location;
            response.Dispose();
            if (hop >= _policy.Limits.MaxRedirects)
            {
                throw new BridgeUpstreamException($"Too many redirects: more than {_policy.Limits.MaxRedirects} (proxy.limits.maxRedirects).");
            }

            var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
            if (next.Scheme is not ("http" or "https"))
            {
                throw new BridgeUpstreamException($"Target refused: the SSE server redirected to a '{next.Scheme}' URL.");
            }

            // 303, and 301/302 after a POST, turn into a GET without body (what browsers and HttpClient do);
            // 307 and 308 repeat the request as it was.
            if (response.StatusCode == HttpStatusCode.SeeOther
                || (response.StatusCode is HttpStatusCode.Moved or HttpStatusCode.Found && method == HttpMethod.Post))
            {
                method = HttpMethod.Get;
                body = null;
            }

            uri = next;
        }
    }

    public void Dispose() => _invoker.Dispose();

    private void CopyHeaders(UpstreamRequest request, HttpRequestMessage message, byte[]? body, bool sameOrigin)
    {
        string? contentType = null;
        foreach (var (name, value) in request.Headers)
        {
            // Credentials go to the origin the client named, never to another host a redirect points at.
            if (!_policy.IsHeaderForwarded(name) || (!sameOrigin && name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                contentType = value;
                continue;
            }

            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (!message.Headers.Contains("Accept"))
        {
            message.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        }

        if (!message.Headers.Contains("Cache-Control"))
        {
            message.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        }

        if (body is not null)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", contentType ?? request.BodyContentType);
        }
    }

    /// <summary>
    /// Resolves, checks every address, and connects to the first allowed one that answers. This is the only
    /// place a socket is opened, so a redirect or a pooled-connection miss cannot skip the check.
    /// </summary>
    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await _resolver(host, cancellationToken);
            }
            catch (SocketException ex)
            {
                throw new BridgeUpstreamException($"Could not resolve '{host}': {ex.Message}", transient: true, ex);
            }
        }

        string? refusal = null;
        List<IPAddress> allowed = [];
        foreach (var address in addresses)
        {
            var reason = _policy.CheckAddress(address, host);
            if (reason is null)
            {
                allowed.Add(address);
            }
            else
            {
                refusal ??= reason;
            }
        }

        if (allowed.Count == 0)
        {
            throw new BridgeUpstreamException(refusal ?? $"'{host}' did not resolve to any address.", transient: refusal is null);
        }

        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (_policy.Limits.UpstreamReceiveBuffer > 0)
            {
                // A fixed buffer turns off receive autotuning (up to tens of MB per socket on Linux), so a
                // stream stalled by a slow client holds a bounded amount of kernel memory.
                socket.ReceiveBufferSize = _policy.Limits.UpstreamReceiveBuffer;
            }

            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new BridgeUpstreamException($"Could not connect to {host}:{port}: {last?.Message}", transient: true, last);
    }

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found
        or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool IsSameOrigin(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    internal static string Describe(Uri uri) => $"{uri.Scheme}://{uri.Authority}";

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T match)
            {
                return match;
            }
        }

        return null;
    }
}
