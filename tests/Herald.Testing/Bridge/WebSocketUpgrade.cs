using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Herald.Testing.Bridge;

/// <summary>One WebSocket upgrade: the HTTP status either way, the <c>Retry-After</c> of a refusal, and the open socket when it succeeded.</summary>
public sealed record WebSocketUpgrade(HttpStatusCode Status, string? RetryAfter, ClientWebSocket Socket)
{
    /// <summary>Sends the upgrade request (from <paramref name="from"/>, a loopback address, when given).</summary>
    public static async Task<WebSocketUpgrade> StartAsync(Uri uri, Dictionary<string, string> headers, IPAddress? from = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        using var timeout = new CancellationTokenSource(Within.Timeout);
        using var invoker = From(from);
        try
        {
            await socket.ConnectAsync(uri, invoker, timeout.Token);
        }
        catch (WebSocketException)
        {
            // A refused upgrade; the status says why.
        }

        var retryAfter = socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true ? values.Single() : null;
        return new WebSocketUpgrade(socket.HttpStatusCode, retryAfter, socket);
    }

    /// <summary>A connection from another loopback address (127.0.0.2 and so on), so one test can be two clients.</summary>
    public static HttpMessageInvoker? From(IPAddress? address) => address is null ? null : new HttpMessageInvoker(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(address, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });

    public async Task CloseAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(Within.Timeout);
            await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
        }

        Socket.Dispose();
    }
}
