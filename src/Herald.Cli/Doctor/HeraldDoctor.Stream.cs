using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Herald.Cli.Doctor;

/// <summary>The SSE checks: the endpoint answers a stream, the prelude arrives at once, test messages are delivered.</summary>
internal sealed partial class HeraldDoctor
{
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
}
