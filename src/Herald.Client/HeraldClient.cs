using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Herald.Client.Internal;
using Herald.Protocol;
using Herald.Protocol.Sse;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Client;

/// <summary>
/// A client for one Herald deployment: subscribe to dialogs, topics or the operators' feed over Server-Sent
/// Events with automatic reconnect and Last-Event-ID resume, and call the chat API.
/// </summary>
/// <remarks>
/// <para>
/// A subscription is an <see cref="IAsyncEnumerable{T}"/> that never ends by itself: when the connection drops
/// it waits (the server's <c>retry:</c>, then jittered exponential backoff) and reconnects with the id of the
/// last event it yielded, so the sequence has no gap and no repeat across reconnects and server restarts.
/// When the server cannot replay from that position it yields a <c>reset</c> event (<see cref="HeraldEvent.IsReset"/>):
/// reload history, the sequence continues. It ends with <see cref="HeraldException"/> when the server refuses the
/// request (4xx: credential, permission, missing dialog), and with <see cref="OperationCanceledException"/> when
/// the caller cancels.
/// </para>
/// <para>Thread-safe; one instance can serve many concurrent subscriptions.</para>
/// </remarks>
public sealed class HeraldClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly HeraldClientOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a client with its own <see cref="HttpClient"/>.</summary>
    /// <param name="baseAddress">Herald's base address, e.g. <c>https://chat.example.com/</c>.</param>
    /// <param name="options">Reconnect and timeout settings; defaults when null.</param>
    public HeraldClient(Uri baseAddress, HeraldClientOptions? options = null)
        : this(CreateHttpClient(baseAddress), options, ownsHttp: true)
    {
    }

    /// <summary>Creates a client over an existing <see cref="HttpClient"/> (e.g. from IHttpClientFactory).</summary>
    /// <param name="httpClient">Its <see cref="HttpClient.BaseAddress"/> must be Herald's base address. Not disposed by this client.</param>
    /// <param name="options">Reconnect and timeout settings; defaults when null.</param>
    public HeraldClient(HttpClient httpClient, HeraldClientOptions? options = null)
        : this(httpClient, options, ownsHttp: false)
    {
    }

    private HeraldClient(HttpClient httpClient, HeraldClientOptions? options, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        if (httpClient.BaseAddress is null)
        {
            throw new ArgumentException("The HttpClient needs a BaseAddress (Herald's base address).", nameof(httpClient));
        }

        _http = httpClient;
        _ownsHttp = ownsHttp;
        _options = options ?? new HeraldClientOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
    }

    /// <summary>Herald's base address.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>
    /// Subscribes to one dialog's events (<c>GET /api/dialogs/{id}/events</c>): <c>message</c> events with a
    /// <c>message:new</c> payload (<see cref="HeraldEvent.MessageNew"/>), <c>typing</c>, and <c>reset</c>.
    /// </summary>
    /// <param name="dialogId">The dialog.</param>
    /// <param name="credentials">The dialog's guest, an operator, or a site widget.</param>
    /// <param name="lastEventId">Resume after this event id; null to start from now.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, in id order, each once, until cancelled.</returns>
    public IAsyncEnumerable<HeraldEvent> SubscribeDialogAsync(long dialogId, HeraldCredentials credentials, long? lastEventId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dialogId);
        ArgumentNullException.ThrowIfNull(credentials);
        var id = dialogId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var target = new StreamTarget($"api/dialogs/{id}/events", $"api/dialogs/{id}/poll", [], credentials, $"dialog:{id}");
        return SubscribeCoreAsync(target, lastEventId, cancellationToken);
    }

    /// <summary>
    /// Subscribes to one or more generic topics on one stream (<c>GET /api/events?topic=a&amp;topic=b</c>),
    /// e.g. notifications or progress published with <c>PublishAsync</c>.
    /// </summary>
    /// <param name="topics">1-32 topics, each 1-128 characters of letters, digits, <c>_ - . : @</c>.</param>
    /// <param name="credentials">An operator, or an app user whose token grants the topics (topics are not open to guests).</param>
    /// <param name="lastEventId">Resume after this event id; null to start from now.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events of all the topics, in id order, each once, until cancelled.</returns>
    public IAsyncEnumerable<HeraldEvent> SubscribeTopicsAsync(IEnumerable<string> topics, HeraldCredentials credentials, long? lastEventId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(credentials);
        var list = topics.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("Name at least one topic.", nameof(topics));
        }

        if (list.FirstOrDefault(t => !ProtocolNames.IsValidTopic(t)) is { } bad)
        {
            throw new ArgumentException($"'{bad}' is not a valid topic: 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.", nameof(topics));
        }

        var query = list.Select(t => new KeyValuePair<string, string>("topic", t)).ToList();
        return SubscribeCoreAsync(new StreamTarget("api/events", "api/poll", query, credentials, list.Count == 1 ? list[0] : null), lastEventId, cancellationToken);
    }

    /// <summary>
    /// Subscribes to the operators' feed (<c>GET /api/events/admin</c>): <c>new_message</c> and
    /// <c>dialog_update</c> for every dialog, so a console needs one connection rather than one per dialog.
    /// </summary>
    /// <param name="credentials">An operator.</param>
    /// <param name="lastEventId">Resume after this event id; null to start from now.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The feed's events, in id order, each once, until cancelled.</returns>
    public IAsyncEnumerable<HeraldEvent> SubscribeOperatorFeedAsync(OperatorCredentials credentials, long? lastEventId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var target = new StreamTarget("api/events/admin", "api/poll", [new("topic", "dialogs")], credentials, "dialogs");
        return SubscribeCoreAsync(target, lastEventId, cancellationToken);
    }

    /// <summary>Logs an operator in (<c>POST /api/auth/login</c>).</summary>
    /// <param name="email">The operator's email.</param>
    /// <param name="password">The password.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The access token; <see cref="HeraldLogin.Credentials"/> turns it into credentials.</returns>
    /// <exception cref="HeraldException">401 <c>invalid_credentials</c> and other refusals.</exception>
    public async Task<HeraldLogin> LoginAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(email);
        ArgumentException.ThrowIfNullOrEmpty(password);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/auth/login")
        {
            Content = JsonContent.Create(new LoginBody(email, password), ClientJsonContext.Default.LoginBody),
        };
        return await SendJsonAsync(request, ClientJsonContext.Default.HeraldLogin, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the guest's dialog with an assistant, or returns the existing one (<c>POST /api/widget/dialogs</c>).</summary>
    /// <param name="guest">The guest.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The dialog.</returns>
    public async Task<HeraldDialog> OpenGuestDialogAsync(GuestCredentials guest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(guest);
        using var request = CreateRequest(HttpMethod.Post, "api/widget/dialogs", [], guest);
        return await SendJsonAsync(request, ClientJsonContext.Default.HeraldDialog, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Posts a message as the dialog's guest (sender <c>user</c>), retrying transient failures without ever
    /// storing it twice (see <see cref="HeraldClientOptions.PostRetries"/>).
    /// </summary>
    /// <param name="dialogId">The guest's dialog.</param>
    /// <param name="guest">The guest.</param>
    /// <param name="text">1 to the server's maximum (4,000 by default) characters.</param>
    /// <param name="clientMessageId">
    /// 1-64 letters, digits, '-' or '_' that identify this message for the dialog: posting the same id again returns the
    /// original message. Default: a new random id per call.
    /// </param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stored message.</returns>
    public Task<HeraldMessage> PostGuestMessageAsync(long dialogId, GuestCredentials guest, string text, string? clientMessageId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(guest);
        return PostMessageCoreAsync($"api/widget/dialogs/{dialogId}/messages", guest, new PostMessageBody("user", text, clientMessageId ?? NewClientMessageId()),
            dialogId, cancellationToken);
    }

    /// <summary>
    /// Posts a message as an operator (sender <c>manager</c>), retrying transient failures without ever storing it
    /// twice (see <see cref="HeraldClientOptions.PostRetries"/>).
    /// </summary>
    /// <param name="dialogId">The dialog.</param>
    /// <param name="credentials">The operator.</param>
    /// <param name="text">1 to the server's maximum (4,000 by default) characters.</param>
    /// <param name="clientMessageId">Identifies this message for the dialog (see <see cref="PostGuestMessageAsync"/>); default: a new random id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The stored message.</returns>
    public Task<HeraldMessage> PostOperatorMessageAsync(long dialogId, OperatorCredentials credentials, string text, string? clientMessageId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return PostMessageCoreAsync($"api/dialogs/{dialogId}/messages", credentials, new PostMessageBody(null, text, clientMessageId ?? NewClientMessageId()),
            dialogId, cancellationToken);
    }

    /// <summary>
    /// Reads a dialog's messages, oldest first (<c>GET /api/dialogs/{id}/messages</c>): the history to load at
    /// start and after a <c>reset</c>.
    /// </summary>
    /// <param name="dialogId">The dialog.</param>
    /// <param name="credentials">The dialog's guest or an operator.</param>
    /// <param name="afterId">Only messages with a larger message id (not event id).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Up to one page (500 by default) of messages.</returns>
    public async Task<IReadOnlyList<HeraldMessage>> GetMessagesAsync(long dialogId, HeraldCredentials credentials, long? afterId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dialogId);
        ArgumentNullException.ThrowIfNull(credentials);
        var query = new List<KeyValuePair<string, string>>();
        if (afterId is { } after)
        {
            query.Add(new("after_id", after.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var request = CreateRequest(HttpMethod.Get, $"api/dialogs/{dialogId}/messages", query, credentials);
        return await SendJsonAsync(request, ClientJsonContext.Default.ListHeraldMessage, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Publishes a durable event to a generic topic (<c>POST /api/publish</c>).</summary>
    /// <param name="topic">1-128 characters of letters, digits, <c>_ - . : @</c>.</param>
    /// <param name="eventName">The SSE event name: 1-64 characters of letters, digits, <c>_ - . :</c>.</param>
    /// <param name="data">Any JSON value.</param>
    /// <param name="credentials">An operator.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The event id.</returns>
    public Task<long> PublishAsync(string topic, string eventName, JsonElement data, OperatorCredentials credentials, CancellationToken cancellationToken = default) =>
        PublishCoreAsync(topic, eventName, data, credentials, cancellationToken);

    /// <summary>
    /// Publishes a durable event as an application's user, to a topic its token's publish grant names. Subscribers
    /// receive <c>{"sub":"&lt;the token's sub&gt;","data":&lt;data&gt;}</c>.
    /// </summary>
    /// <param name="topic">1-128 characters of letters, digits, <c>_ - . : @</c>.</param>
    /// <param name="eventName">The SSE event name: 1-64 characters of letters, digits, <c>_ - . :</c>.</param>
    /// <param name="data">Any JSON value.</param>
    /// <param name="credentials">The app user.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The event id.</returns>
    public Task<long> PublishAsync(string topic, string eventName, JsonElement data, AppUserCredentials credentials, CancellationToken cancellationToken = default) =>
        PublishCoreAsync(topic, eventName, data, credentials, cancellationToken);

    private async Task<long> PublishCoreAsync(string topic, string eventName, JsonElement data, HeraldCredentials credentials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        if (!ProtocolNames.IsValidTopic(topic))
        {
            throw new ArgumentException("Topics are 1-128 characters of letters, digits, '_', '-', '.', ':', '@'.", nameof(topic));
        }

        if (!ProtocolNames.IsValidEventName(eventName))
        {
            throw new ArgumentException("Event names are 1-64 characters of letters, digits, '_', '-', '.', ':'.", nameof(eventName));
        }

        using var request = CreateRequest(HttpMethod.Post, "api/publish", [], credentials);
        request.Content = JsonContent.Create(new PublishBody(topic, eventName, data), ClientJsonContext.Default.PublishBody);
        var answer = await SendJsonAsync(request, ClientJsonContext.Default.PublishAnswer, cancellationToken).ConfigureAwait(false);
        return answer.Id ?? throw new HeraldException("The server did not return an event id.");
    }

    /// <summary>Disposes the <see cref="HttpClient"/> if this client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<HeraldMessage> PostMessageCoreAsync(string path, HeraldCredentials credentials, PostMessageBody body, long dialogId,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dialogId);
        ArgumentException.ThrowIfNullOrEmpty(body.Text, "text");
        for (var attempt = 0; ; attempt++)
        {
            // A request message cannot be sent twice: each attempt builds its own, with the same client_message_id.
            using var request = CreateRequest(HttpMethod.Post, path, [], credentials);
            request.Content = JsonContent.Create(body, ClientJsonContext.Default.PostMessageBody);
            try
            {
                return await SendJsonAsync(request, ClientJsonContext.Default.HeraldMessage, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < _options.PostRetries && IsRetryablePost(ex, cancellationToken))
            {
                await Task.Delay(ReconnectBackoff.Delay(attempt, _options.ReconnectDelay, _options.MaxReconnectDelay), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string NewClientMessageId() => Guid.NewGuid().ToString("N");

    private static bool IsRetryablePost(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        HeraldException { StatusCode: { } status } => !IsFatal(status),
        HeraldException => false,
        _ => IsTransient(ex, cancellationToken),
    };

    private async IAsyncEnumerable<HeraldEvent> SubscribeCoreAsync(StreamTarget target, long? lastEventId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var position = lastEventId;
        var failures = 0;
        var retry = _options.ReconnectDelay;
        var refreshedAfterRefusal = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (position is null && _options.ResolveStartPosition)
            {
                position = await TryGetHeadAsync(target, cancellationToken).ConfigureAwait(false);
            }

            HttpResponseMessage? response;
            string? failure;
            TimeSpan? retryAfter;
            try
            {
                (response, failure, retryAfter) = await ConnectAsync(target, position, cancellationToken).ConfigureAwait(false);
            }
            catch (HeraldException ex) when (ex.StatusCode == HttpStatusCode.Unauthorized && !refreshedAfterRefusal && CanRefresh(target))
            {
                // The token expired while we were away: one fresh token, one immediate retry; a second 401 is final.
                refreshedAfterRefusal = true;
                target = await RefreshCredentialsAsync(target, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var authExpiring = false;
            if (response is not null)
            {
                // The stream is open: the next drop waits the server's retry, not a grown backoff.
                failures = 0;
                refreshedAfterRefusal = false;
                HeraldClientLog.Connected(_logger, target.StreamPath, position);
                using (response)
                {
                    var stream = new IdleTimeoutReadStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _options.IdleTimeout);
                    using var reader = new SseEventReader(stream);
                    while (true)
                    {
                        // The read is wrapped, the yield is not: C# allows no yield inside a try with a catch.
                        SseEvent? frame;
                        try
                        {
                            frame = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (IsTransient(ex, cancellationToken))
                        {
                            failure = ex.Message;
                            break;
                        }

                        if (frame is null)
                        {
                            failure = "the server ended the stream";
                            break;
                        }

                        if (!TryToEvent(frame, target.Topic, out var evt, out var problem))
                        {
                            // One bad frame must not end a subscription that never ends by itself: skip it, say so.
                            HeraldClientLog.MalformedEvent(_logger, target.StreamPath, HeraldClientLog.Printable(frame.Type), HeraldClientLog.Printable(frame.Id), problem);
                            continue;
                        }

                        if (evt.Event == "disconnect")
                        {
                            // The node is draining; the stream ends next and the client reconnects by itself after the
                            // retry: the server just sent. Transport business, not the application's.
                            continue;
                        }

                        if (evt.Event == "auth-expiring")
                        {
                            // Until the stream is extended, its end is the token's expiry rather than a network failure.
                            authExpiring = true;
                            if (CanRefresh(target))
                            {
                                (target, authExpiring) = await ExtendStreamAsync(target, evt, cancellationToken).ConfigureAwait(false);
                            }
                        }
                        else if (evt.IsReset)
                        {
                            // The position moves to the server's head, possibly backwards (a replaced database).
                            position = evt.Id;
                            HeraldClientLog.Reset(_logger, target.StreamPath, evt.Reset?.Reason ?? "", evt.Id);
                        }
                        else if (evt.Id is { } id)
                        {
                            if (position is { } seen && id <= seen)
                            {
                                continue; // a repeat: already yielded before a reconnect
                            }

                            position = id;
                        }

                        yield return evt;
                    }

                    if (reader.ReconnectionTime is { } reconnectionTime)
                    {
                        retry = reconnectionTime;
                    }
                }
            }

            if (authExpiring)
            {
                // The server ended the stream at the token's expiry. It may still accept the expired token for its
                // clock-skew allowance, but every stream it opens would be cut again at once.
                if (!CanRefresh(target))
                {
                    throw new HeraldException(HttpStatusCode.Unauthorized, ErrorCodes.Unauthorized, "The operator token expired; log in again and resume from the last event id.");
                }

                target = await RefreshCredentialsAsync(target, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var delay = retryAfter ?? ReconnectBackoff.Delay(failures, retry, _options.MaxReconnectDelay);
            failures++;
            HeraldClientLog.Reconnecting(_logger, target.StreamPath, failure ?? "unknown", (long)delay.TotalMilliseconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool CanRefresh(StreamTarget target) => target.Credentials.Refresher is not null;

    private static async Task<StreamTarget> RefreshCredentialsAsync(StreamTarget target, CancellationToken cancellationToken)
    {
        var current = target.Credentials;
        var token = await current.Refresher!(cancellationToken).ConfigureAwait(false);
        ArgumentException.ThrowIfNullOrEmpty(token, "refreshToken()");
        return target with { Credentials = current.WithToken(token) };
    }

    /// <summary>
    /// Answers <c>auth-expiring</c>: a fresh token posted to the connection's refresh URL extends the open stream
    /// (nothing is replayed). Returns the new target and whether the stream is still about to expire.
    /// </summary>
    private async Task<(StreamTarget Target, bool StillExpiring)> ExtendStreamAsync(StreamTarget target, HeraldEvent evt, CancellationToken cancellationToken)
    {
        var refreshed = await RefreshCredentialsAsync(target, cancellationToken).ConfigureAwait(false);
        // Only a path of this server's refresh endpoint: the token must not be sent anywhere an event names.
        if (evt.Data.ValueKind != JsonValueKind.Object || !evt.Data.TryGetProperty("refresh", out var url) || url.ValueKind != JsonValueKind.String
            || url.GetString() is not { } path
            || !path.StartsWith("/api/streams/", StringComparison.Ordinal) || !path.EndsWith("/auth", StringComparison.Ordinal) || path.Contains("..", StringComparison.Ordinal))
        {
            return (refreshed, true);
        }

        using var request = CreateRequest(HttpMethod.Post, path.TrimStart('/'), [], refreshed.Credentials);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            return (refreshed, !response.IsSuccessStatusCode);
        }
        catch (Exception ex) when (IsTransient(ex, cancellationToken))
        {
            // The stream ends at expiry and reconnects with the fresh token: nothing is lost either way.
            return (refreshed, true);
        }
    }

    /// <summary>Opens the stream; a refusal that retrying cannot fix throws, anything else is returned as a failure.</summary>
    private async Task<(HttpResponseMessage? Response, string? Failure, TimeSpan? RetryAfter)> ConnectAsync(StreamTarget target, long? position,
        CancellationToken cancellationToken)
    {
        using var request = CreateRequest(HttpMethod.Get, target.StreamPath, target.Query, target.Credentials);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (position is { } p)
        {
            request.Headers.Add("Last-Event-ID", p.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(_options.ConnectTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex, cancellationToken))
        {
            return (null, ex.Message, null);
        }

        if (response.IsSuccessStatusCode)
        {
            if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
            {
                return (response, null, null);
            }

            // A proxy's or captive portal's page, not Herald: transient from where the client stands.
            var type = response.Content.Headers.ContentType?.MediaType ?? "no content type";
            response.Dispose();
            return (null, $"not an event stream ({type})", null);
        }

        using (response)
        {
            var error = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            if (IsFatal(response.StatusCode))
            {
                HeraldClientLog.Refused(_logger, target.StreamPath, (int)response.StatusCode, error.ErrorCode);
                throw error;
            }

            return (null, error.Message, response.Headers.RetryAfter?.Delta);
        }
    }

    /// <summary>The server's current position, from a long-poll request without <c>after_id</c>; null if unavailable.</summary>
    private async Task<long?> TryGetHeadAsync(StreamTarget target, CancellationToken cancellationToken)
    {
        using var request = CreateRequest(HttpMethod.Get, target.PollPath, [.. target.Query, new("timeout", "0")], target.Credentials);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                // A refusal shows up again, with its details, on the stream request itself.
                return null;
            }

            var head = await response.Content.ReadFromJsonAsync(ClientJsonContext.Default.PollHead, timeout.Token).ConfigureAwait(false);
            return head?.LastEventId;
        }
        catch (Exception ex) when (IsTransient(ex, cancellationToken) || ex is JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Turns a frame into an event, or says why it is malformed: an <c>id</c> that is not one of Herald's positive
    /// integers, or a <c>reset</c> without the id and payload the client moves its position by. A <c>data</c> that is
    /// not JSON is not malformed: it becomes a JSON string.
    /// </summary>
    private static bool TryToEvent(SseEvent frame, string? topic, [NotNullWhen(true)] out HeraldEvent? evt, [NotNullWhen(false)] out string? problem)
    {
        evt = null;
        long? id = null;
        if (frame.Id is not null)
        {
            if (!long.TryParse(frame.Id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) || parsed <= 0)
            {
                problem = "the id is not a positive integer";
                return false;
            }

            id = parsed;
        }

        JsonElement data;
        try
        {
            using var document = JsonDocument.Parse(frame.Data);
            data = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            data = JsonSerializer.SerializeToElement(frame.Data, ClientJsonContext.Default.String);
        }

        evt = new HeraldEvent(id, frame.Type, topic, data);
        if (evt.IsReset)
        {
            if (id is null)
            {
                problem = "a reset without an id";
                return false;
            }

            try
            {
                if (evt.Reset is null)
                {
                    problem = "a reset whose data is not an object";
                    return false;
                }
            }
            catch (JsonException ex)
            {
                problem = $"a reset whose data does not fit: {ex.Message}";
                return false;
            }
        }

        problem = null;
        return true;
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string>> query, HeraldCredentials credentials)
    {
        var request = new HttpRequestMessage(method, (Uri?)null);
        var parameters = query.ToList();
        credentials.Apply(parameters, request.Headers);
        var builder = new StringBuilder(path);
        for (var i = 0; i < parameters.Count; i++)
        {
            builder.Append(i == 0 ? '?' : '&').Append(Uri.EscapeDataString(parameters[i].Key)).Append('=').Append(Uri.EscapeDataString(parameters[i].Value));
        }

        request.RequestUri = new Uri(builder.ToString(), UriKind.Relative);
        return request;
    }

    private async Task<T> SendJsonAsync<T>(HttpRequestMessage request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await ReadErrorAsync(response, timeout.Token).ConfigureAwait(false);
            }

            return await response.Content.ReadFromJsonAsync(type, timeout.Token).ConfigureAwait(false)
                ?? throw new HeraldException($"Herald answered {(int)response.StatusCode} without a body.");
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{request.Method} {request.RequestUri} did not complete within {_options.RequestTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private static async Task<HeraldException> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ErrorBody? body = null;
        try
        {
            body = await response.Content.ReadFromJsonAsync(ClientJsonContext.Default.ErrorBody, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or HttpRequestException or IOException)
        {
            // Not Herald's JSON error (a proxy's page): the status says enough.
        }

        return new HeraldException(response.StatusCode, body?.Error, body?.Detail);
    }

    /// <summary>4xx other than 408 and 429 will not heal by retrying: the credential or the request must change.</summary>
    private static bool IsFatal(HttpStatusCode status) =>
        (int)status is >= 400 and < 500 && status is not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests;

    private static bool IsTransient(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && ex is HttpRequestException or IOException or TimeoutException or OperationCanceledException or InvalidDataException;

    private static HttpClient CreateHttpClient(Uri baseAddress)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        var handler = new SocketsHttpHandler
        {
            // Re-resolve DNS now and then, so a long-lived client follows a deployment that moves.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        // Streams are bounded by IdleTimeout, requests by their own timeouts; HttpClient's 100 s would cut streams.
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    private sealed record StreamTarget(string StreamPath, string PollPath, IReadOnlyList<KeyValuePair<string, string>> Query, HeraldCredentials Credentials,
        string? Topic);
}
