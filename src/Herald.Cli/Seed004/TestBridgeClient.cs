using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Bridge;

namespace Herald.Cli.Seed004;

/// <summary>
/// Seed 004's test client (<c>herald testclient</c>): connects to the bridge, sends <c>maxMessages</c> requests
/// for the test server one after another (the next only after <c>closed</c> or <c>error</c>, then
/// <c>sendDelay</c> ms), and prints what comes back in the seed's sample format. It speaks only the seed's
/// protocol (no request ids), so it is also the compatibility check for seed clients.
/// </summary>
public static class TestBridgeClient
{
    /// <summary>The request the client sends for message <paramref name="text"/>: POST to the test server's <c>/events</c>.</summary>
    public static string BuildRequest(TestServerSettings server, string text) => JsonSerializer.Serialize(new
    {
        protocol = "http",
        address = server.Host,
        port = server.Port,
        path = TestSseServer.EventsPath,
        method = "POST",
        headers = new Dictionary<string, string> { ["Content-Type"] = "application/json", ["Accept"] = "text/event-stream" },
        body = new { message = text },
    });

    /// <summary>Runs the seed's test.</summary>
    /// <param name="settings">Uses <c>testClient</c> for what to send and <c>testServer</c> for where the bridge should send it.</param>
    /// <param name="proxy">The bridge's WebSocket URL, e.g. <c>ws://localhost:3001/proxy</c>.</param>
    /// <param name="token">The bridge token, if it requires one.</param>
    /// <param name="output">Where the transcript goes.</param>
    /// <param name="cancellationToken">Stops the test.</param>
    /// <returns>0 when every request ended with <c>closed</c>; 1 otherwise.</returns>
    public static async Task<int> RunAsync(BridgeSettings settings, Uri proxy, string? token, TextWriter output, CancellationToken cancellationToken)
    {
        var client = settings.TestClient;
        using var socket = new ClientWebSocket();
        if (!string.IsNullOrEmpty(token))
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        }

        try
        {
            await socket.ConnectAsync(proxy, cancellationToken);
        }
        catch (WebSocketException ex)
        {
            await output.WriteLineAsync($"❌ Could not connect to {proxy}: {ex.Message}");
            return 1;
        }

        await output.WriteLineAsync("✅ Connected to Proxy WebSocket");
        await output.WriteLineAsync($"📋 Будет отправлено {client.MaxMessages} {Messages(client.MaxMessages)}");
        var failures = 0;
        var buffer = new ArrayBufferWriter<byte>(4096);
        for (var i = 1; i <= client.MaxMessages; i++)
        {
            var text = $"{client.Message} #{i}";
            await output.WriteLineAsync($"📤 #{i}: {text}");
            await socket.SendAsync(Encoding.UTF8.GetBytes(BuildRequest(settings.TestServer, text)), WebSocketMessageType.Text, true, cancellationToken);
            while (true)
            {
                if (!await ReceiveAsync(socket, buffer, cancellationToken))
                {
                    await output.WriteLineAsync("❌ The proxy closed the connection");
                    return 1;
                }

                using var reply = JsonDocument.Parse(buffer.WrittenMemory);
                var type = reply.RootElement.GetProperty("type").GetString();
                var payload = reply.RootElement.GetProperty("payload");
                if (type == "connected")
                {
                    await output.WriteLineAsync($"✅ Connected to server ({payload.GetProperty("status").GetInt32()})");
                }
                else if (type == "sse-event")
                {
                    await PrintEventAsync(output, payload);
                }
                else if (type == "error")
                {
                    await output.WriteLineAsync($"❌ Error: {payload.GetProperty("message").GetString()}");
                    failures++;
                    break;
                }
                else if (type == "closed")
                {
                    await output.WriteLineAsync($"🔚 Server closed: {payload.GetProperty("reason").GetString()}");
                    break;
                }

                // "data" repeats the sse-event's data for the seed's older clients; this client reads sse-event.
            }

            if (i < client.MaxMessages)
            {
                await Task.Delay(client.SendDelay, cancellationToken);
            }
        }

        await output.WriteLineAsync($"✅ Отправлено {client.MaxMessages} {Messages(client.MaxMessages)}. Завершение теста.");
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        }
        catch (WebSocketException)
        {
        }

        return failures == 0 ? 0 : 1;
    }

    private static async Task PrintEventAsync(TextWriter output, JsonElement payload)
    {
        await output.WriteLineAsync($"📥 SSE Event [{payload.GetProperty("event").GetString()}]:");
        if (payload.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            await output.WriteLineAsync($"   🆔 ID: {id.GetString()}");
        }

        if (payload.TryGetProperty("retry", out var retry) && retry.ValueKind == JsonValueKind.String)
        {
            await output.WriteLineAsync($"   🔄 Retry: {retry.GetString()}ms");
        }

        var data = payload.GetProperty("data").GetString() ?? "";
        await output.WriteLineAsync($"   📝 Data: {Display(data)}");
    }

    /// <summary>The test server's <c>response</c> text when the data is its echo JSON; otherwise the data itself.</summary>
    private static string Display(string data)
    {
        try
        {
            using var document = JsonDocument.Parse(data);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("response", out var response)
                && response.ValueKind == JsonValueKind.String)
            {
                return response.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return data;
    }

    /// <summary>Russian plural of "сообщение" for the seed's transcript: 1 сообщение, 3 сообщения, 5 сообщений.</summary>
    internal static string Messages(int count)
    {
        var lastTwo = count % 100;
        var last = count % 10;
        return lastTwo is >= 11 and <= 14 ? "сообщений" : last == 1 ? "сообщение" : last is >= 2 and <= 4 ? "сообщения" : "сообщений";
    }

    private static async Task<bool> ReceiveAsync(ClientWebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            buffer.Advance(result.Count);
        }
        while (!result.EndOfMessage);
        return true;
    }
}
