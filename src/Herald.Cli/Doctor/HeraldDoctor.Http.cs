using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Herald.Cli.Doctor;

/// <summary>Requests with a timeout, and what an unexpected answer most likely means.</summary>
internal sealed partial class HeraldDoctor
{
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
            return new Answer(0, "", "", null, null, Stopwatch.GetElapsedTime(started).TotalMilliseconds, error)
            {
                Unresolved = ex is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError },
            };
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
    private (string Cause, string Fix) Classify(Answer answer)
    {
        if (answer.Error is not null)
        {
            return answer.Unresolved ? Diagnoses.NameNotResolved(_base.Host, answer.Error) : Diagnoses.Unreachable(answer.Error);
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
}
