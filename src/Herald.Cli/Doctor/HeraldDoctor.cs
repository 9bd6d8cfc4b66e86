using System.Net.Http.Headers;
using System.Text.Json;

namespace Herald.Cli.Doctor;

/// <summary>
/// Seed 000's checklist, run against a live deployment through whatever sits in front of it: health and Redis,
/// the SSE endpoint (URL, status, content type), <c>retry:</c> and the first heartbeat arriving at once (a
/// buffering proxy is named), a test message posted through the API arriving on the stream within 500 ms, a
/// WebSocket upgrade, CORS for the widget's origin and the widget token. Each check passes or fails with its
/// likely cause and fix (<see cref="Diagnoses"/>).
/// </summary>
/// <remarks>
/// Only HTTP and WebSocket from the outside, like a browser: the doctor never needs access to the nodes, so it
/// checks exactly the path clients take. Its test messages go into a probe dialog (guest id
/// <c>herald-probe-…</c>, <see cref="Herald.Server.Storage.DialogRecord.ProbeGuestPrefix"/>), which the gateway keeps
/// from operators: no feed event, no row in their list, no unread count. That is chosen over cleaning up afterwards
/// because a clean-up comes too late: the operators' consoles have received the live events (a new dialog, a sound,
/// an unread badge) by then, and a run cut short (Ctrl+C, a timeout) would leave its messages behind anyway.
/// </remarks>
internal sealed partial class HeraldDoctor
{

    private readonly DoctorOptions _options;
    private readonly Uri _base;
    private readonly HttpMessageHandler? _handler;
    // Set by the health check when the base URL itself is wrong (a name that does not resolve, an extra path).
    private bool _baseUrlWrong;
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
        if (_baseUrlWrong)
        {
            // The base URL itself is wrong: every later check would fail for the same reason under a misleading name.
            foreach (var name in new[] { "redis", "dialog", "sse", "sse-prelude", "delivery", "websocket", "cors", "widget-token" })
            {
                report.Add(new CheckResult(name, CheckStatus.Skip, "not checked: fix the base URL first (see 'health')"));
            }

            return report;
        }

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
            report.Add(Failed("health", "cannot reach " + Url("api/sse/health"), Classify(answer)));
            _baseUrlWrong = answer.Unresolved;
            return null;
        }

        if (answer.Status == 404 && _base.AbsolutePath != "/" && await AnswersAtRootAsync(http, ct))
        {
            report.Add(Failed("health", $"404 from {Url("api/sse/health")}; Herald answers at the root instead",
                Diagnoses.ExtraPath(_base.AbsolutePath, _base.GetLeftPart(UriPartial.Authority))));
            _baseUrlWrong = true;
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

    /// <summary>Whether Herald's health answers at the root of the host: the base URL's path is then the mistake.</summary>
    private async Task<bool> AnswersAtRootAsync(HttpClient http, CancellationToken ct)
    {
        var root = await SendAsync(http, HttpMethod.Get, new Uri(_base, "/api/sse/health").ToString(), null, ct);
        return root.Status == 200 && root.Json is { ValueKind: JsonValueKind.Object } body && body.TryGetProperty("status", out _) && body.TryGetProperty("redis", out _);
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
            // A failure, not a skip: exit code 1 and "1 failed" say the same thing, and the line says what is missing.
            report.Add(Failed("dialog", "no credential given: streams and delivery were not checked",
                ("the doctor needs a credential to open a dialog, and none was given",
                    "Pass one of: --email E --password P (or --token JWT) as an operator; --assistant-id N as a guest widget;\n"
                    + "--site-token hwt_... --origin https://your.site as a site widget.")));
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

            // The probe dialog goes under an existing assistant that admits guests: the doctor creates no assistant of its own,
            // which operators would see in their list.
            long assistantId = 0;
            foreach (var a in list.EnumerateArray())
            {
                if (!(a.TryGetProperty("require_verified_identity", out var verified) && verified.ValueKind == JsonValueKind.True))
                {
                    assistantId = a.GetProperty("id").GetInt64();
                    break;
                }
            }

            if (assistantId == 0)
            {
                report.Add(Failed("dialog", "no assistant to test with",
                    ("there is no assistant that admits guests (none, or all require verified identities)",
                        "Create one (POST /api/assistants {\"name\":\"...\"}) or run the doctor with --site-token and --origin.")));
                return null;
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

    private sealed record HealthInfo(string Status, string Redis);

    private sealed record Answer(int Status, string ContentType, string Body, JsonElement? Json, string? Location, double ElapsedMs, string? Error)
    {
        /// <summary>The host name did not resolve (DNS), as opposed to an address where nothing answers.</summary>
        public bool Unresolved { get; init; }
    }

    /// <summary>The dialog under test and how to reach it with the run's credential.</summary>
    private sealed record Target(long DialogId, string StreamPath, string PostPath, bool PostsAsGuest, string WsPath,
        AuthenticationHeaderValue? Bearer, string? WidgetQuery, bool SendOrigin);
}
