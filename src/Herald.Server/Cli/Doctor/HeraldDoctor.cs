using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Herald.Server.Cli.Doctor;

/// <summary>
/// Seed 000's checklist, run against a live deployment through whatever sits in front of it: health and Redis,
/// the SSE endpoint (URL, status, content type), <c>retry:</c> and the first heartbeat arriving at once (a
/// buffering proxy is named), a test message posted through the API arriving on the stream within 500 ms, a
/// WebSocket upgrade, CORS for the widget's origin and the widget token. Each check passes or fails with its
/// likely cause and fix (<see cref="Diagnoses"/>).
/// </summary>
/// <remarks>
/// Only HTTP and WebSocket from the outside, like a browser: the doctor never needs access to the nodes, so it
/// checks exactly the path clients take. With an operator credential it creates an assistant named
/// <c>herald-doctor</c> (once) and posts its test messages into that assistant's own dialog, never into a customer's.
/// </remarks>
internal sealed class HeraldDoctor
{
    public const string DoctorAssistantName = "herald-doctor";

    private readonly DoctorOptions _options;
    private readonly Uri _base;
    private readonly HttpMessageHandler? _handler;
    private readonly string _runId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));

    public HeraldDoctor(DoctorOptions options, HttpMessageHandler? handler = null)
    {
        _options = options;
        _handler = handler;
        // Relative paths resolve under the base, so a prefix such as https://example.com/herald/ is kept.
        var text = options.BaseUrl.GetLeftPart(UriPartial.Path);
        _base = new Uri(text.EndsWith('/') ? text : text + "/");
    }

    public async Task<DoctorReport> RunAsync(CancellationToken ct = default)
    {
        var report = new DoctorReport(_base.ToString(), _options.Mode);
        // Redirects are reported, not followed: EventSource and WebSocket clients would not follow them the same way.
        using var http = new HttpClient(_handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = _options.Timeout },
            disposeHandler: _handler is null)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("herald-doctor/1");

        var health = await CheckHealthAsync(http, report, ct);
        CheckRedis(report, health);
        var target = await PrepareAsync(http, report, ct);
        if (target is not null)
        {
            await CheckStreamAsync(http, report, target, ct);
        }
        else
        {
            foreach (var name in new[] { "sse", "sse-prelude", "delivery" })
            {
                report.Add(new CheckResult(name, CheckStatus.Skip, "not checked: no dialog to stream (see 'dialog')"));
            }
        }

        await CheckWebSocketAsync(report, target, ct);
        await CheckCorsAsync(http, report, target, ct);
        await CheckWidgetTokenAsync(http, report, ct);
        return report;
    }

    // ---- health, redis ----

    private async Task<HealthInfo?> CheckHealthAsync(HttpClient http, DoctorReport report, CancellationToken ct)
    {
        var answer = await SendAsync(http, HttpMethod.Get, "api/sse/health", null, ct);
        if (answer.Error is not null)
        {
            report.Add(Failed("health", "cannot reach " + Url("api/sse/health"), Diagnoses.Unreachable(answer.Error)));
            return null;
        }

        var json = answer.Json;
        if (answer.Status == 503 && json?.TryGetProperty("status", out var draining) == true && draining.GetString() == "shutting_down")
        {
            report.Add(Failed("health", "503 shutting_down", Diagnoses.ShuttingDown()));
            return null;
        }

        if (answer.Status != 200 || json is not { ValueKind: JsonValueKind.Object } body
            || !body.TryGetProperty("status", out var status) || !body.TryGetProperty("redis", out var redis))
        {
            report.Add(Failed("health", $"{answer.Status} {answer.ContentType} from /api/sse/health, not Herald's health JSON", Classify(answer)));
            return null;
        }

        var connections = body.TryGetProperty("connections", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt64() : 0;
        var info = new HealthInfo(status.GetString() ?? "", redis.GetString() ?? "");
        var summary = $"{info.Status}, {connections} connections, redis {info.Redis} ({answer.ElapsedMs:F0} ms)";
        report.Add(info.Status == "healthy"
            ? new CheckResult("health", CheckStatus.Pass, summary, DurationMs: answer.ElapsedMs)
            : Failed("health", summary, info.Redis == "disconnected" ? Diagnoses.RedisDisconnected() : ($"the node reports '{info.Status}'", "Read the node's log.")));
        return info;
    }

    private static void CheckRedis(DoctorReport report, HealthInfo? health)
    {
        report.Add(health?.Redis switch
        {
            null => new CheckResult("redis", CheckStatus.Skip, "not checked: no health answer"),
            "connected" => new CheckResult("redis", CheckStatus.Pass, "the Redis backplane is connected"),
            "disabled" => new CheckResult("redis", CheckStatus.Info,
                "no Redis backplane configured: fine for one node; several nodes must share one (Herald:Redis:Url)"),
            "disconnected" => Failed("redis", "the Redis backplane is disconnected", Diagnoses.RedisDisconnected()),
            var other => Failed("redis", $"unknown backplane state '{other}'", ("health reports a state this doctor does not know", "Update herald.")),
        });
    }

    // ---- credentials and the dialog to test with ----

    private async Task<Target?> PrepareAsync(HttpClient http, DoctorReport report, CancellationToken ct)
    {
        var o = _options;
        if (o.Mode == "none")
        {
            report.Add(new CheckResult("dialog", CheckStatus.Skip,
                "no credential: pass --token, --email/--password, --assistant-id or --site-token to check streams and delivery"));
            return null;
        }

        if (o.Mode == "operator")
        {
            var token = o.Token;
            if (token is null)
            {
                var login = await SendAsync(http, HttpMethod.Post, "api/auth/login", JsonContent.Create(new { email = o.Email, password = o.Password }), ct);
                if (login.Status != 200 || login.Json?.TryGetProperty("access_token", out var t) != true)
                {
                    report.Add(Failed("dialog", $"login as {o.Email} failed: {Describe(login)}", Classify(login)));
                    return null;
                }

                token = t.GetString()!;
            }

            var bearer = new AuthenticationHeaderValue("Bearer", token);
            var assistants = await SendAsync(http, HttpMethod.Get, "api/assistants", null, ct, bearer: bearer);
            if (assistants.Status != 200 || assistants.Json is not { ValueKind: JsonValueKind.Array } list)
            {
                report.Add(Failed("dialog", $"GET /api/assistants: {Describe(assistants)}", Classify(assistants)));
                return null;
            }

            long assistantId = 0;
            foreach (var a in list.EnumerateArray())
            {
                if (a.TryGetProperty("name", out var n) && n.GetString() == DoctorAssistantName)
                {
                    assistantId = a.GetProperty("id").GetInt64();
                    break;
                }
            }

            if (assistantId == 0)
            {
                var created = await SendAsync(http, HttpMethod.Post, "api/assistants", JsonContent.Create(new { name = DoctorAssistantName }), ct, bearer: bearer);
                if (created.Status != 201 || created.Json?.TryGetProperty("id", out var id) != true)
                {
                    report.Add(Failed("dialog", $"creating assistant '{DoctorAssistantName}': {Describe(created)}", Classify(created)));
                    return null;
                }

                assistantId = id.GetInt64();
            }

            var guestQuery = $"assistant_id={assistantId}&guest_id={Uri.EscapeDataString(o.GuestId)}";
            var dialogId = await OpenDialogAsync(http, report, guestQuery, false, ct);
            if (dialogId is not { } d)
            {
                return null;
            }

            var tokenQuery = "token=" + Uri.EscapeDataString(token);
            return new Target(d, $"api/dialogs/{d}/events?{tokenQuery}", $"api/dialogs/{d}/messages", false, $"ws/dialogs/{d}?{tokenQuery}",
                bearer, null, false);
        }

        var query = o.Mode == "site"
            ? $"site_token={Uri.EscapeDataString(o.SiteToken!)}&guest_id={Uri.EscapeDataString(o.GuestId)}"
            : $"assistant_id={o.AssistantId}&guest_id={Uri.EscapeDataString(o.GuestId)}";
        var site = o.Mode == "site";
        var dialog = await OpenDialogAsync(http, report, query, site, ct);
        return dialog is { } dlg
            ? new Target(dlg, $"api/dialogs/{dlg}/events?{query}", $"api/widget/dialogs/{dlg}/messages?{query}", true,
                $"ws/{(site ? "site" : "widget")}/dialogs/{dlg}?{query}", null, query, site)
            : null;
    }

    private async Task<long?> OpenDialogAsync(HttpClient http, DoctorReport report, string widgetQuery, bool sendOrigin, CancellationToken ct)
    {
        var answer = await SendAsync(http, HttpMethod.Post, "api/widget/dialogs?" + widgetQuery, null, ct, origin: sendOrigin ? _options.Origin : null);
        if (answer.Status is 200 or 201 && answer.Json?.TryGetProperty("id", out var id) == true && id.ValueKind == JsonValueKind.Number)
        {
            report.Add(new CheckResult("dialog", CheckStatus.Pass, $"dialog {id.GetInt64()} of guest '{_options.GuestId}' is ready", DurationMs: answer.ElapsedMs));
            return id.GetInt64();
        }

        report.Add(Failed("dialog", $"POST /api/widget/dialogs: {Describe(answer)}", Classify(answer)));
        return null;
    }

    // ---- the SSE stream: URL and headers, the prelude, delivery ----

    private async Task CheckStreamAsync(HttpClient http, DoctorReport report, Target target, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url(target.StreamPath));
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        if (target.SendOrigin)
        {
            request.Headers.Add("Origin", _options.Origin);
        }

        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(_options.Timeout);
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Herald answers a stream's headers, retry: and a heartbeat in one flush; a proxy that buffers the
                // response (nginx's defaults: proxy_buffering on with HTTP/1.0 to the upstream) holds all of it.
                var seconds = $"{_options.Timeout.TotalSeconds:F0} s";
                report.Add(Failed("sse", $"no response headers within {seconds}",
                    Diagnoses.Buffering($"not even the response headers came through in {seconds}")));
                report.Add(Failed("sse-prelude", $"nothing arrived within {seconds}",
                    Diagnoses.Buffering($"Herald sends headers, retry: and a heartbeat at once; nothing came through in {seconds}")));
                SkipRest(report, "delivery");
                return;
            }
            catch (HttpRequestException ex)
            {
                report.Add(Failed("sse", "cannot connect", Diagnoses.Unreachable(ex.Message)));
                SkipRest(report, "sse-prelude", "delivery");
                return;
            }
        }

        using (response)
        {
            var headersMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var contentType = response.Content.Headers.ContentType?.MediaType ?? "";
            var path = "/" + target.StreamPath.Split('?')[0];
            if ((int)response.StatusCode != 200 || contentType != "text/event-stream")
            {
                var body = await ReadSomeAsync(response, ct);
                var answer = new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", body, TryParse(body),
                    response.Headers.Location?.ToString(), headersMs, null);
                report.Add(Failed("sse", $"{Describe(answer)} from {path}", (int)response.StatusCode == 200 && contentType != "text/html"
                    ? Diagnoses.WrongFormat($"Content-Type '{contentType}', expected text/event-stream")
                    : Classify(answer)));
                SkipRest(report, "sse-prelude", "delivery");
                return;
            }

            var encoding = string.Join(",", response.Content.Headers.ContentEncoding);
            report.Add(encoding.Length > 0
                ? Failed("sse", $"200 text/event-stream from {path}, but compressed", Diagnoses.Compressed(encoding))
                : new CheckResult("sse", CheckStatus.Pass, $"200 text/event-stream from {path} (headers after {headersMs:F0} ms)", DurationMs: headersMs));

            await using var probe = new SseProbe(await response.Content.ReadAsStreamAsync(ct));
            var buffering = await CheckPreludeAsync(report, probe, started);
            await CheckDeliveryAsync(http, report, target, probe, buffering, ct);
        }
    }

    /// <summary>Herald writes <c>retry:</c> and <c>: heartbeat</c> in the same flush that opens the stream.</summary>
    private async Task<bool> CheckPreludeAsync(DoctorReport report, SseProbe probe, long requestStarted)
    {
        // Measured from the request: a proxy may hold the headers as well as the body (nginx with HTTP/1.0 upstreams).
        var started = requestStarted;
        int? retry = null;
        double? retryMs = null;
        double? heartbeatMs = null;
        while (retry is null || heartbeatMs is null)
        {
            var left = _options.PreludeWindow - Stopwatch.GetElapsedTime(started);
            var item = left > TimeSpan.Zero ? await probe.NextAsync(left) : null;
            if (item is null)
            {
                break;
            }

            var at = Stopwatch.GetElapsedTime(started, item.Timestamp).TotalMilliseconds;
            switch (item.Kind)
            {
                case SseProbeItem.Kinds.Retry:
                    retry ??= item.Retry;
                    retryMs ??= at;
                    break;
                case SseProbeItem.Kinds.Comment when item.Data == "heartbeat":
                    heartbeatMs ??= at;
                    break;
                case SseProbeItem.Kinds.End:
                    report.Add(Failed("sse-prelude", "the stream ended right after it opened",
                        ("the server or a proxy closes the stream (a proxy_read_timeout of 0, or a node refusing)", "Read the proxy's error log and the node's 'SSE Manager' lines.")));
                    return false;
            }
        }

        var window = $"{_options.PreludeWindow.TotalSeconds:F0} s";
        if (retry is not null && heartbeatMs is not null)
        {
            report.Add(new CheckResult("sse-prelude", CheckStatus.Pass, $"retry: {retry} and ': heartbeat' arrived after {Math.Max(retryMs!.Value, heartbeatMs.Value):F0} ms",
                DurationMs: Math.Max(retryMs.Value, heartbeatMs.Value)));
            return false;
        }

        if (retry is null && heartbeatMs is null)
        {
            report.Add(Failed("sse-prelude", $"the stream is open but neither retry: nor ': heartbeat' arrived within {window}",
                Diagnoses.Buffering($"Herald sends both at once, nothing came through in {window}")));
            return true;
        }

        report.Add(Failed("sse-prelude", retry is null ? $"': heartbeat' arrived but no retry: within {window}" : $"retry: arrived but no ': heartbeat' within {window}",
            ("something between the client and Herald rewrites the stream (it drops SSE fields or comments)", "Proxy the stream unmodified: no response filters, no SSE-aware middleboxes.")));
        return false;
    }

    private async Task CheckDeliveryAsync(HttpClient http, DoctorReport report, Target target, SseProbe probe, bool bufferingSeen, CancellationToken ct)
    {
        var latencies = new List<double>();
        var seen = new Dictionary<long, int>();
        for (var i = 1; i <= _options.Messages; i++)
        {
            var text = $"herald doctor probe {_runId}-{i}";
            // Guests post as sender "user"; operators send only the text (sender "manager" is implied).
            var body = target.PostsAsGuest ? JsonContent.Create(new { sender = "user", text }) : JsonContent.Create(new { text });
            var started = Stopwatch.GetTimestamp();
            var posted = await SendAsync(http, HttpMethod.Post, target.PostPath, body, ct, bearer: target.Bearer, origin: target.SendOrigin ? _options.Origin : null);
            if (posted.Status != 201 || posted.Json?.TryGetProperty("id", out var idElement) != true)
            {
                report.Add(Failed("delivery", $"the test message could not be posted: {Describe(posted)}", Classify(posted)));
                return;
            }

            var messageId = idElement.GetInt64();
            var (arrived, formatError) = await WaitForMessageAsync(probe, messageId, text, started, seen);
            if (formatError is not null)
            {
                report.Add(Failed("delivery", $"message {messageId} arrived in an unexpected shape", Diagnoses.WrongFormat(formatError)));
                return;
            }

            if (arrived is not { } ms)
            {
                report.Add(Failed("delivery", $"message {messageId} did not arrive within {_options.Timeout.TotalSeconds:F0} s",
                    Diagnoses.NotDelivered(messageId, bufferingSeen), new Dictionary<string, object?> { ["delivered"] = latencies.Count }));
                return;
            }

            latencies.Add(ms);
        }

        // A short look for copies: seed 000's duplication showed one POST producing two events.
        var quiet = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(quiet) < TimeSpan.FromMilliseconds(250))
        {
            if (await probe.NextAsync(TimeSpan.FromMilliseconds(250) - Stopwatch.GetElapsedTime(quiet)) is not { } item)
            {
                break;
            }

            CountMessage(item, seen);
        }

        var data = new Dictionary<string, object?> { ["latencies_ms"] = latencies.Select(l => Math.Round(l, 1)).ToArray(), ["target_ms"] = Diagnoses.DeliveryTargetMs };
        if (seen.Values.Any(n => n > 1))
        {
            report.Add(Failed("delivery", $"{latencies.Count} messages delivered, one of them more than once", Diagnoses.Duplicated(seen.Values.Max()), data));
            return;
        }

        var max = latencies.Max();
        var summary = $"{latencies.Count} test messages delivered once each in {string.Join(" / ", latencies.Select(l => l.ToString("F0")))} ms (max {max:F0} ms, target {Diagnoses.DeliveryTargetMs:F0} ms)";
        report.Add(max <= Diagnoses.DeliveryTargetMs
            ? new CheckResult("delivery", CheckStatus.Pass, summary, DurationMs: max, Data: data)
            : Failed("delivery", summary, Diagnoses.Slow(max), data));
    }

    /// <summary>Waits for message <paramref name="messageId"/>; returns ms since <paramref name="started"/>, or a format complaint.</summary>
    private async Task<(double? Ms, string? FormatError)> WaitForMessageAsync(SseProbe probe, long messageId, string text, long started, Dictionary<long, int> seen)
    {
        while (true)
        {
            var left = _options.Timeout - Stopwatch.GetElapsedTime(started);
            var item = left > TimeSpan.Zero ? await probe.NextAsync(left) : null;
            if (item is null || item.Kind == SseProbeItem.Kinds.End)
            {
                return (null, null);
            }

            if (item.Kind != SseProbeItem.Kinds.Event)
            {
                continue;
            }

            var id = CountMessage(item, seen);
            if (id == messageId)
            {
                if (item.EventType != "message" || string.IsNullOrEmpty(item.Id))
                {
                    return (null, $"event '{item.EventType}' with id '{item.Id}', expected 'event: message' with an id");
                }

                return (Stopwatch.GetElapsedTime(started, item.Timestamp).TotalMilliseconds, null);
            }

            if (id is null && item.Data?.Contains(text, StringComparison.Ordinal) == true)
            {
                return (null, item.Data.Length > 200 ? item.Data[..200] + "..." : item.Data);
            }
        }
    }

    // The message id of a Herald message:new event, counted; null for anything else.
    private static long? CountMessage(SseProbeItem item, Dictionary<long, int> seen)
    {
        if (item.Kind != SseProbeItem.Kinds.Event || TryParse(item.Data) is not { ValueKind: JsonValueKind.Object } data
            || !data.TryGetProperty("type", out var type) || type.GetString() != "message:new"
            || !data.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        var messageId = id.GetInt64();
        seen[messageId] = seen.GetValueOrDefault(messageId) + 1;
        return messageId;
    }

    // ---- WebSocket ----

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
                report.Add(closeCode == Protocol.CloseCodes.Unauthorized
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
                    report.Add(Failed("websocket", $"101 on {display}, then closed with {code} {socket.CloseStatusDescription}",
                        code is >= 4001 and <= 4003 ? Diagnoses.Credentials(code == 4003 ? 403 : 401, socket.CloseStatusDescription)
                        : ($"Herald closed the socket ({code})", "See docs/protocol.md, close codes.")));
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

    // ---- CORS and the widget token ----

    private async Task CheckCorsAsync(HttpClient http, DoctorReport report, Target? target, CancellationToken ct)
    {
        var origin = _options.Origin;
        if (origin is null)
        {
            report.Add(new CheckResult("cors", CheckStatus.Info, "not checked: pass --origin https://your-site to check the widget's CORS"));
            return;
        }

        if (target?.WidgetQuery is not { } query)
        {
            report.Add(_options.Mode == "operator"
                ? new CheckResult("cors", CheckStatus.Info, "not checked: CORS applies to widget requests (--assistant-id or --site-token); operator endpoints never answer CORS")
                : new CheckResult("cors", CheckStatus.Skip, "not checked: no dialog (see 'dialog')"));
            return;
        }

        var path = $"api/widget/dialogs/{target.DialogId}/messages?{query}";
        using var preflight = new HttpRequestMessage(HttpMethod.Options, Url(path));
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var get = new HttpRequestMessage(HttpMethod.Get, Url(path));
        get.Headers.Add("Origin", origin);
        foreach (var (request, what) in new[] { (preflight, "preflight (OPTIONS)"), (get, "GET") })
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.Timeout);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, timeout.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                report.Add(Failed("cors", $"{what} failed", Diagnoses.Unreachable(ex.Message)));
                return;
            }

            using (response)
            {
                var allow = response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? string.Join(",", values) : null;
                if (allow != origin || (what.StartsWith('p') && (int)response.StatusCode is not (200 or 204)))
                {
                    report.Add(Failed("cors", $"{what} from {origin}: {(int)response.StatusCode}, Access-Control-Allow-Origin {(allow is null ? "missing" : "'" + allow + "'")}",
                        Diagnoses.CorsMissing(origin, allow)));
                    return;
                }
            }
        }

        report.Add(new CheckResult("cors", CheckStatus.Pass, $"preflight and GET answer Access-Control-Allow-Origin: {origin}"));
    }

    private async Task CheckWidgetTokenAsync(HttpClient http, DoctorReport report, CancellationToken ct)
    {
        if (_options.SiteToken is null)
        {
            report.Add(new CheckResult("widget-token", CheckStatus.Info, "not checked: no --site-token given"));
            return;
        }

        var domain = new Uri(_options.Origin!).Authority;
        var answer = await SendAsync(http, HttpMethod.Post, "api/validate-widget-token", JsonContent.Create(new { token = _options.SiteToken, domain }), ct,
            origin: _options.Origin);
        if (answer.Status != 200 || answer.Json is not { ValueKind: JsonValueKind.Object } body || !body.TryGetProperty("valid", out var valid))
        {
            report.Add(Failed("widget-token", $"POST /api/validate-widget-token: {Describe(answer)}", Classify(answer)));
            return;
        }

        if (valid.ValueKind == JsonValueKind.True)
        {
            var assistant = body.TryGetProperty("assistant_id", out var a) ? a.ToString() : "?";
            report.Add(new CheckResult("widget-token", CheckStatus.Pass, $"the token is valid for {domain} (assistant {assistant})"));
            return;
        }

        var reason = body.TryGetProperty("reason", out var r) ? r.GetString() : null;
        report.Add(Failed("widget-token", $"the token is not valid for {domain}: {reason}", Diagnoses.TokenInvalid(domain, reason)));
    }

    // ---- HTTP plumbing ----

    private Uri Url(string relative) => new(_base, relative);

    private async Task<Answer> SendAsync(HttpClient http, HttpMethod method, string relative, HttpContent? content, CancellationToken ct,
        AuthenticationHeaderValue? bearer = null, string? origin = null)
    {
        using var request = new HttpRequestMessage(method, Url(relative)) { Content = content };
        request.Headers.Authorization = bearer;
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var body = await ReadSomeAsync(response, timeout.Token);
            return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", body, TryParse(body),
                response.Headers.Location?.ToString(), Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            var error = ex is OperationCanceledException ? $"no answer within {_options.Timeout.TotalSeconds:F0} s" : ex.Message;
            return new Answer(0, "", "", null, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error);
        }
    }

    // Bodies are read up to 64 KB: enough to tell an HTML page from Herald's JSON, never a whole download.
    private static async Task<string> ReadSomeAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[64 * 1024];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct)) > 0)
        {
            length += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static JsonElement? TryParse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(Answer answer)
    {
        if (answer.Error is not null)
        {
            return answer.Error;
        }

        if (answer.Json is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("error", out var error) && json.TryGetProperty("detail", out var detail))
        {
            return $"{answer.Status} {error.GetString()}: {detail.GetString()}";
        }

        var type = answer.ContentType.Split(';')[0];
        return $"{answer.Status} {(type.Length == 0 ? "(no content type)" : type)}";
    }

    /// <summary>The likely cause of an unexpected answer: unreachable, redirect, proxy error, frontend, credentials.</summary>
    private static (string Cause, string Fix) Classify(Answer answer)
    {
        if (answer.Error is not null)
        {
            return Diagnoses.Unreachable(answer.Error);
        }

        var heraldError = answer.Json is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty("error", out var e) && json.TryGetProperty("detail", out var d)
            ? (Code: e.GetString(), Detail: d.GetString())
            : ((string? Code, string? Detail)?)null;
        var type = answer.ContentType.Split(';')[0].Trim();
        return answer.Status switch
        {
            >= 300 and < 400 => Diagnoses.Redirect(answer.Status, answer.Location),
            502 or 504 => Diagnoses.BadGateway(answer.Status),
            503 when heraldError?.Code == Protocol.ErrorCodes.ShuttingDown => Diagnoses.ShuttingDown(),
            503 when heraldError is { } h => ($"the node refused: {h.Detail}", "Retry later, or raise the limit (docs/security.md, Limits)."),
            503 => Diagnoses.BadGateway(503),
            401 or 403 when heraldError is { } h => Diagnoses.Credentials(answer.Status, h.Detail),
            _ when type == "text/html" => Diagnoses.WrongUrl($"it answered {answer.Status} with an HTML page"),
            404 when heraldError is { } h => ($"Herald answered 404: {h.Detail}", "Check the dialog or assistant id, and that the base URL has no extra path."),
            404 => Diagnoses.WrongUrl($"it answered 404 {(type.Length == 0 ? "without a body type" : type)}, not Herald's JSON"),
            _ when heraldError is { } h => ($"Herald answered {answer.Status} {h.Code}: {h.Detail}", "See docs/protocol.md, HTTP errors."),
            _ when answer.Status == 200 => Diagnoses.WrongUrl($"it answered 200 {type} that is not Herald's JSON"),
            _ => ($"unexpected answer {answer.Status} {type}", "Check that the base URL reaches Herald (curl BASE/api/sse/health)."),
        };
    }

    private static CheckResult Failed(string name, string summary, (string Cause, string Fix) why, IReadOnlyDictionary<string, object?>? data = null) =>
        new(name, CheckStatus.Fail, summary, why.Cause, why.Fix, Data: data);

    private static void SkipRest(DoctorReport report, params string[] names)
    {
        foreach (var name in names)
        {
            report.Add(new CheckResult(name, CheckStatus.Skip, "not checked: the stream did not open (see 'sse')"));
        }
    }

    private sealed record HealthInfo(string Status, string Redis);

    private sealed record Answer(int Status, string ContentType, string Body, JsonElement? Json, string? Location, double ElapsedMs, string? Error);

    /// <summary>The dialog under test and how to reach it with the run's credential.</summary>
    private sealed record Target(long DialogId, string StreamPath, string PostPath, bool PostsAsGuest, string WsPath,
        AuthenticationHeaderValue? Bearer, string? WidgetQuery, bool SendOrigin);
}
