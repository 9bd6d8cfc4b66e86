using System.Net;
using System.Net.WebSockets;
using System.Text;
using Herald.Protocol.Diagnostics;
using Herald.Protocol.Sse;

namespace Herald.Bridge;

/// <summary>
/// One client request: the upstream request, its events relayed as <c>sse-event</c> (and legacy <c>data</c>)
/// replies, and exactly one final reply, <c>closed</c> or <c>error</c>. With resume on, a dropped upstream is
/// reconnected after its <c>retry</c> with <c>Last-Event-ID</c>, and replayed events already relayed are skipped.
/// </summary>
internal sealed class BridgeStream : IDisposable
{
    private const int BodyPreviewBytes = 512;

    private readonly BridgeSession _session;
    private readonly BridgeService _service;
    private readonly OpenStreamMessage _message;
    private readonly CancellationTokenSource _cts;
    private readonly BridgeReplyWriter _replies = new();
    private volatile bool _cancelledByClient;
    private long _events;

    public BridgeStream(BridgeSession session, OpenStreamMessage message, CancellationToken sessionToken)
    {
        _session = session;
        _service = session.Service;
        _message = message;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(sessionToken);
    }

    /// <summary>The raw JSON id of the request, or <see langword="null"/> for a sequential (seed) request.</summary>
    public string? Id => _message.Id;

    // For logs only: the id is the client's raw JSON, which may hold U+2028, C1 controls or bidi overrides.
    private string Label => Id is null ? "-" : LogValue.Sanitize(Id);

    /// <summary>Stops the stream on the client's request; it answers <c>closed</c> with "Cancelled by client.".</summary>
    public void Cancel()
    {
        _cancelledByClient = true;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
    }

    public async Task RunAsync()
    {
        var logger = _service.Logger;
        if (!_service.TryAcquireStream())
        {
            var message = $"The bridge is at its limit of {_service.Policy.Limits.MaxStreams} streams (proxy.limits.maxStreams); try again later.";
            BridgeLog.StreamFailed(logger, _session.Client, Label, LogValue.Sanitize(message));
            await _session.TrySendAsync(_replies.Error(Id, message));
            return;
        }

        try
        {
            var reason = await StreamAsync(_cts.Token);
            BridgeLog.StreamClosed(logger, _session.Client, Label, reason, _events);
            await _session.SendAsync(_replies.Closed(Id, reason), _cts.Token);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            if (_cancelledByClient)
            {
                BridgeLog.StreamClosed(logger, _session.Client, Label, BridgeReplyWriter.ClosedByClient, _events);
                await _session.TrySendAsync(_replies.Closed(Id, BridgeReplyWriter.ClosedByClient));
            }
        }
        catch (WebSocketException)
        {
            // The client is gone; the session cleans up.
        }
        catch (BridgeUpstreamException ex)
        {
            BridgeLog.StreamFailed(logger, _session.Client, Label, LogValue.Sanitize(ex.Message));
            await _session.TrySendAsync(_replies.Error(Id, ex.Message, ex.Status, ex.Body));
        }
        catch (UpstreamIdleException ex)
        {
            BridgeLog.StreamFailed(logger, _session.Client, Label, LogValue.Sanitize(ex.Message));
            await _session.TrySendAsync(_replies.Error(Id, ex.Message));
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            var message = $"The connection to the SSE server was lost: {ex.Message}";
            BridgeLog.StreamFailed(logger, _session.Client, Label, LogValue.Sanitize(message));
            await _session.TrySendAsync(_replies.Error(Id, message));
        }
        catch (Exception ex)
        {
            BridgeLog.UnexpectedError(logger, ex, _session.Client, Label);
            await _session.TrySendAsync(_replies.Error(Id, "The bridge failed to relay this stream."));
        }
        finally
        {
            _service.ReleaseStream();
        }
    }

    public void Dispose()
    {
        _cts.Dispose();
        _replies.Dispose();
    }

    /// <returns>The reason for the <c>closed</c> reply.</returns>
    private async Task<string> StreamAsync(CancellationToken cancellationToken)
    {
        var policy = _service.Policy;
        var request = _message.Request;
        var resume = _message.Resume ?? policy.Resume.Enabled;
        var seen = resume && policy.Resume.DedupWindow > 0 ? new RecentIds(policy.Resume.DedupWindow) : null;
        string? lastEventId = null;
        TimeSpan? retry = null;
        var connected = false;
        var reconnected = false;
        var attempts = 0;
        // Without the query: it often carries tokens, and logs are read by more people than the bridge's clients.
        BridgeLog.StreamStarting(_service.Logger, _session.Client, Label, request.Method.Method, LogValue.Sanitize(UpstreamClient.Describe(request.Uri) + request.Uri.AbsolutePath));
        while (true)
        {
            Exception? drop = null;
            try
            {
                using var response = await _service.Upstream.SendAsync(request, reconnected && !string.IsNullOrEmpty(lastEventId) ? lastEventId : null, cancellationToken);
                if (!IsEventStream(response))
                {
                    // Spec: a 204 tells an EventSource to stop reconnecting; after a drop it ends the stream normally.
                    if (reconnected && response.StatusCode == HttpStatusCode.NoContent)
                    {
                        return BridgeReplyWriter.ClosedNormally;
                    }

                    throw await UnexpectedAnswerAsync(response, cancellationToken);
                }

                if (!connected)
                {
                    connected = true;
                    BridgeLog.StreamConnected(_service.Logger, _session.Client, Label, (int)response.StatusCode);
                    await _session.SendAsync(_replies.Connected(Id, (int)response.StatusCode, response.Headers.Concat(response.Content.Headers)), cancellationToken);
                }

                // Reads only are timed (sseTimeout): while the bridge waits for a slow WebSocket client it is not reading.
                await using var body = new IdleTimeoutReadStream(await response.Content.ReadAsStreamAsync(cancellationToken), policy.IdleTimeout,
                    timeout => new UpstreamIdleException((int)timeout.TotalMilliseconds));
                using var reader = new UpstreamEventReader(body, lastEventId, policy.Limits.MaxEventBytes);
                try
                {
                    await foreach (var sseEvent in reader.ReadAllAsync(cancellationToken))
                    {
                        if (seen is not null && !string.IsNullOrEmpty(sseEvent.Id) && !seen.Add(sseEvent.Id) && reconnected)
                        {
                            // A server that ignores Last-Event-ID replays what the client has already seen.
                            continue;
                        }

                        attempts = 0;
                        await SendEventAsync(sseEvent, cancellationToken);
                    }
                }
                finally
                {
                    lastEventId = reader.LastEventId;
                    retry = reader.ReconnectionInterval ?? retry;
                }

                if (!resume)
                {
                    return BridgeReplyWriter.ClosedNormally;
                }
            }
            catch (Exception ex) when (resume && connected && !cancellationToken.IsCancellationRequested && IsDrop(ex))
            {
                drop = ex;
            }

            if (++attempts > policy.Resume.MaxAttempts)
            {
                throw new BridgeUpstreamException(
                    $"The SSE stream ended and {policy.Resume.MaxAttempts} reconnect attempts in a row brought no new event (last: {drop?.Message ?? "the server closed the stream"}).");
            }

            var delay = Math.Min((long)(retry ?? TimeSpan.FromMilliseconds(policy.Resume.DefaultRetry)).TotalMilliseconds, policy.Resume.MaxRetry);
            BridgeLog.Resuming(_service.Logger, _session.Client, Label, delay, LogValue.Sanitize(lastEventId), attempts);
            await Task.Delay(TimeSpan.FromMilliseconds(delay), cancellationToken);
            reconnected = true;
        }
    }

    private async Task SendEventAsync(UpstreamEvent sseEvent, CancellationToken cancellationToken)
    {
        // Awaiting each send before reading on is the backpressure: a slow client slows the upstream read.
        await _session.SendAsync(_replies.SseEvent(Id, sseEvent), cancellationToken);
        if (_service.Policy.Settings.LegacyData)
        {
            await _session.SendAsync(_replies.LegacyData(Id, sseEvent.Data), cancellationToken);
        }

        _events++;
    }

    private static bool IsEventStream(HttpResponseMessage response) =>
        response.IsSuccessStatusCode
        && string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);

    private static bool IsDrop(Exception exception) => exception switch
    {
        BridgeUpstreamException upstream => upstream.Transient,
        UpstreamIdleException or IOException or HttpRequestException => true,
        _ => false,
    };

    private async Task<BridgeUpstreamException> UnexpectedAnswerAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var preview = "";
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_service.Policy.Limits.ConnectTimeout);
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            var buffer = new byte[BodyPreviewBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token)) > 0)
            {
                length += read;
            }

            preview = Encoding.UTF8.GetString(buffer, 0, length);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The preview is a courtesy; the status alone explains the failure.
        }

        var status = (int)response.StatusCode;
        var contentType = response.Content.Headers.ContentType?.ToString() ?? "no content type";
        var message = $"The SSE server answered {status} {response.ReasonPhrase} ({contentType}); expected a 2xx text/event-stream response.";
        if (preview.Length > 0)
        {
            message += $" Body: {preview}";
        }

        return new BridgeUpstreamException(message) { Status = status, Body = preview };
    }

    /// <summary>The ids of the last few relayed events, oldest forgotten first.</summary>
    private sealed class RecentIds(int capacity)
    {
        private readonly HashSet<string> _set = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        /// <returns>Whether <paramref name="id"/> was new.</returns>
        public bool Add(string id)
        {
            if (!_set.Add(id))
            {
                return false;
            }

            _order.Enqueue(id);
            if (_order.Count > capacity)
            {
                _set.Remove(_order.Dequeue());
            }

            return true;
        }
    }
}
