using System.Text.Json;

namespace Herald.Cli.Doctor;

/// <summary>The widget checks: CORS for the site's origin and the widget token.</summary>
internal sealed partial class HeraldDoctor
{
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
                ? new CheckResult("cors", CheckStatus.Info, "not checked: CORS applies to widget requests (--assistant-id or --site-token); operator endpoints answer CORS only to Herald:Cors:OperatorOrigins")
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
}
