using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Herald.Server.Tests.Infrastructure;

/// <summary>A ClientWebSocket with "next text message within a timeout" and close-status helpers.</summary>
public sealed class WsTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    public WebSocket Socket => _socket;

    public static async Task<WsTestClient> ConnectAsync(Uri baseAddress, string pathAndQuery, string? origin = null)
    {
        var client = new WsTestClient();
        if (origin is not null)
        {
            client._socket.Options.SetRequestHeader("Origin", origin);
        }

        var uri = new Uri(baseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + pathAndQuery);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client._socket.ConnectAsync(uri, cts.Token);
        return client;
    }

    public Task SendAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The next text message, or null when the server closed the socket.</summary>
    public async Task<string?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("No WebSocket message in time.");
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(buffer, 0, length);
            }
        }
    }

    public async Task<JsonElement> ReceiveJsonAsync(TimeSpan? timeout = null)
    {
        var text = await ReceiveAsync(timeout) ?? throw new InvalidOperationException($"The socket closed: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Reads until the server closes; returns its close status.</summary>
    public async Task<(int? Code, string? Reason)> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        while (await ReceiveAsync(timeout) is not null)
        {
        }

        return ((int?)_socket.CloseStatus, _socket.CloseStatusDescription);
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Dispose();
    }
}
