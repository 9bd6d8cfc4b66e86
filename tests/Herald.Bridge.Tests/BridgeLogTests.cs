using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Herald.Testing;
using Herald.Testing.Bridge;
using Microsoft.AspNetCore.Http;

namespace Herald.Bridge.Tests;

/// <summary>
/// Bytes from outside (an upstream's error body, a client's headers) reach the bridge's log with their control and
/// format characters escaped, so they cannot forge log lines, recolour a terminal or hide text.
/// </summary>
public sealed class BridgeLogTests
{
    // CR LF to forge a line, ANSI colour and clear-screen, U+2028 (a line break to JSON and JS log viewers),
    // NEL and CSI (C1), a right-to-left override, a zero-width space, DEL.
    private const string Hostile = "bad\r\n2026-12-04 info: forged line\u001b[31mred\u001b[0m\u001b[2J\u2028after\u0085nel\u009b31m\u202Eevil\u200Bzw\u007F";

    private static readonly SearchValues<char> Raw = SearchValues.Create("\r\n\u001b\u2028\u0085\u009b\u202E\u200B\u007F");

    [Fact]
    public async Task UpstreamErrorBody_WithControlCharacters_ReachesTheLogEscaped()
    {
        await using var upstream = await UpstreamServer.StartAsync(async context =>
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(Hostile);
        });
        var logs = new LogCapture();
        await using var bridge = await BridgeServer.StartAsync(s => s.Allow.Networks = ["loopback"], logs: logs);
        await using var client = await bridge.ConnectAsync();

        await client.SendAsync(upstream.Request("/"));
        var error = Assert.Single(await client.ReceiveUntilEndAsync());

        // The client gets the body as it came (JSON-escaped on the wire); only the log is escaped.
        Assert.Equal(Hostile, error.Payload().Str("body"));
        await Poll.UntilAsync(() => logs.Entries.Any(e => e.EventId.Id == 6007));
        var failed = logs.Entries.Single(e => e.EventId.Id == 6007).Message;
        Assert.Contains(@"bad\u000D\u000A2026-12-04 info: forged line\u001B[31mred\u001B[0m\u001B[2J\u2028after\u0085nel\u009B31m\u202Eevil\u200Bzw\u007F", failed, StringComparison.Ordinal);
        AssertNoRawControls(logs);
    }

    [Fact]
    public async Task HostileOriginHeader_ReachesTheLogEscaped()
    {
        var logs = new LogCapture();
        await using var bridge = await BridgeServer.StartAsync(s => s.AllowedOrigins = ["https://app.example"], logs: logs);

        // A raw request: HTTP clients refuse to send control characters in a header, attackers do not.
        using var tcp = new TcpClient();
        using var timeout = new CancellationTokenSource(Within.Timeout);
        await tcp.ConnectAsync(bridge.Uri.Host, bridge.Uri.Port, timeout.Token);
        var stream = tcp.GetStream();
        var request = $"GET {bridge.Uri.AbsolutePath} HTTP/1.1\r\nHost: {bridge.Uri.Authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Origin: https://evil.example\u001b[31m\u001b]0;owned\u0007\u0001\u007F\r\n\r\n";
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        Assert.StartsWith("HTTP/1.1 403", Encoding.Latin1.GetString(buffer, 0, read), StringComparison.Ordinal);

        await Poll.UntilAsync(() => logs.Entries.Any(e => e.EventId.Id == 6013));
        var refused = logs.Entries.Single(e => e.EventId.Id == 6013).Message;
        Assert.Contains(@"https://evil.example\u001B[31m\u001B]0;owned\u0007\u0001\u007F", refused, StringComparison.Ordinal);
        AssertNoRawControls(logs);
    }

    private static void AssertNoRawControls(LogCapture logs) =>
        Assert.All(logs.Entries, e => Assert.True(!e.Message.AsSpan().ContainsAny(Raw) && !e.Message.Any(c => c < ' '), $"raw control character in: {e.Message}"));
}
