using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Herald.Protocol;

namespace Herald.Cli.Doctor;

/// <summary>The WebSocket check: an upgrade through whatever proxy is in front, then a ping.</summary>
internal sealed partial class HeraldDoctor
{
    private async Task CheckWebSocketAsync(DoctorReport report, Target? target, CancellationToken ct)
    {
        // Without a credential /ws still proves the upgrade: Herald accepts it and then closes with 4001.
        var path = target?.WsPath ?? "ws";
        var uri = new UriBuilder(Url(path)) { Scheme = _base.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" }.Uri;
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        var origin = target?.SendOrigin == true ? _options.Origin : null;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var display = "/" + path.Split('?')[0];
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            if (_handler is not null)
            {
                await socket.ConnectAsync(uri, new HttpMessageInvoker(_handler, disposeHandler: false), timeout.Token);
            }
            else
            {
                await socket.ConnectAsync(uri, timeout.Token);
            }
        }
        catch (WebSocketException ex)
        {
            var status = (int)socket.HttpStatusCode;
            report.Add(status switch
            {
                0 when ex.InnerException is HttpRequestException { InnerException: SocketException } => Failed("websocket", $"cannot connect to {display}", Diagnoses.Unreachable(ex.InnerException.Message)),
                401 or 403 => Failed("websocket", $"upgrade of {display} refused with {status}", Diagnoses.Credentials(status, null)),
                502 or 504 => Failed("websocket", $"upgrade of {display} answered {status}", Diagnoses.BadGateway(status)),
                301 or 302 or 307 or 308 => Failed("websocket", $"upgrade of {display} answered {status}", Diagnoses.Redirect(status, socket.HttpResponseHeaders?.GetValueOrDefault("Location")?.FirstOrDefault())),
                _ => Failed("websocket", $"upgrade of {display} failed: {(status == 0 ? ex.Message : status + " instead of 101")}", Diagnoses.NoUpgrade(status == 0 ? null : status)),
            });
            return;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            report.Add(Failed("websocket", $"no answer to the upgrade of {display} within {_options.Timeout.TotalSeconds:F0} s", Diagnoses.NoUpgrade(null)));
            return;
        }

        var upgradeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            if (target is null)
            {
                var (closeCode, _) = await ReceiveAsync(socket, timeout.Token);
                report.Add(closeCode == Disconnect.Unauthorized.Code
                    ? new CheckResult("websocket", CheckStatus.Pass, $"101 Switching Protocols on {display} after {upgradeMs:F0} ms (then 4001 without a token, as expected)", DurationMs: upgradeMs)
                    : Failed("websocket", $"101 on {display}, then {closeCode?.ToString() ?? "a message"} instead of close 4001",
                        Diagnoses.WrongFormat("this does not behave like Herald's /ws")));
                return;
            }

            await socket.SendAsync("__ping__"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
            var pingStarted = Stopwatch.GetTimestamp();
            while (true)
            {
                var (closeCode, text) = await ReceiveAsync(socket, timeout.Token);
                if (closeCode is { } code)
                {
                    var known = Disconnect.FromCode(code);
                    report.Add(Failed("websocket", $"101 on {display}, then closed with {code} {socket.CloseStatusDescription}",
                        known == Disconnect.Unauthorized || known == Disconnect.Forbidden
                            ? Diagnoses.Credentials(known == Disconnect.Forbidden ? 403 : 401, socket.CloseStatusDescription)
                            : ($"Herald closed the socket ({code}{(known is null ? "" : $" {known.Reason}: {known.Meaning}")})",
                                Disconnect.Reconnects(code)
                                    ? "Transient (docs/protocol.md, close codes): clients reconnect by themselves; run the doctor again."
                                    : "See docs/protocol.md, close codes.")));
                    return;
                }

                if (text == "__pong__")
                {
                    var pingMs = Stopwatch.GetElapsedTime(pingStarted).TotalMilliseconds;
                    report.Add(new CheckResult("websocket", CheckStatus.Pass, $"101 Switching Protocols on {display} after {upgradeMs:F0} ms; __ping__ → __pong__ in {pingMs:F0} ms",
                        DurationMs: upgradeMs));
                    break;
                }
            }

            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "herald doctor", timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            report.Add(Failed("websocket", $"101 on {display}, but the socket went quiet or broke: {ex.Message}",
                ("a proxy upgrades but does not pass frames, or times the socket out", "Set proxy_read_timeout/proxy_send_timeout to an hour in the /ws/ location.")));
        }
    }

    private static async Task<(int? CloseCode, string? Text)> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ((int?)socket.CloseStatus ?? 1005, null);
            }

            length += result.Count;
            if (result.EndOfMessage || length == buffer.Length)
            {
                return (null, Encoding.UTF8.GetString(buffer, 0, length));
            }
        }
    }
}
