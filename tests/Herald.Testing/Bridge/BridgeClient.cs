using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Herald.Testing.Bridge;

/// <summary>A seed-004 client: sends JSON text, receives replies as parsed JSON, every receive bounded in time.</summary>
public sealed class BridgeClient : IAsyncDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    private BridgeClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static async Task<BridgeClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? options = null, HttpMessageInvoker? invoker = null)
    {
        var socket = new ClientWebSocket();
        options?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(Within.Timeout);
        await socket.ConnectAsync(uri, invoker, timeout.Token);
        return new BridgeClient(socket);
    }

    public Task SendAsync(object request) => SendTextAsync(JsonSerializer.Serialize(request));

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Within.Timeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    /// <summary>The next reply, or throws when none arrives in time or the bridge closes the socket.</summary>
    public async Task<JsonElement> ReceiveAsync(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? Within.Timeout);
        _buffer.ResetWrittenCount();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(_buffer.GetMemory(8192), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The bridge closed the socket: {Socket.CloseStatus} {Socket.CloseStatusDescription}");
            }

            _buffer.Advance(result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(_buffer.WrittenMemory).RootElement.Clone();
    }

    /// <summary>Replies up to and including the first <c>closed</c> or <c>error</c>.</summary>
    public async Task<List<JsonElement>> ReceiveUntilEndAsync()
    {
        List<JsonElement> replies = [];
        while (true)
        {
            var reply = await ReceiveAsync();
            replies.Add(reply);
            if (reply.Type() is "closed" or "error")
            {
                return replies;
            }
        }
    }

    /// <summary>Waits for the bridge's close frame; returns its status.</summary>
    public async Task<WebSocketCloseStatus?> ReceiveCloseAsync()
    {
        using var timeout = new CancellationTokenSource(Within.Timeout);
        var buffer = new byte[8192];
        while (true)
        {
            var result = await Socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return Socket.CloseStatus;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                // Open: close and wait for the bridge's answer. CloseReceived: the bridge closed first; answer it.
                var close = Socket.State == WebSocketState.Open
                    ? Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token)
                    : Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                await close;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                Socket.Abort();
            }
        }

        Socket.Dispose();
    }
}
