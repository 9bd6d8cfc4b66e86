namespace Herald.Protocol;

/// <summary>
/// The <c>error</c> values of Herald's JSON error bodies, <c>{"error": code, "detail": text}</c>.
/// One place, one line of meaning each; docs/protocol.md lists the same table.
/// </summary>
public static class ErrorCodes
{
    /// <summary>400: the body is not valid JSON, a field has the wrong type, or data other than whitespace follows the JSON value.</summary>
    public const string InvalidJson = "invalid_json";
    /// <summary>400: a required field or query parameter is missing or empty.</summary>
    public const string MissingField = "missing_field";
    /// <summary>400: a field or parameter has a value outside its allowed range or alphabet.</summary>
    public const string InvalidField = "invalid_field";
    /// <summary>400: the message text is longer than the configured maximum.</summary>
    public const string TextTooLong = "text_too_long";
    /// <summary>401: no credential, or one that is malformed, expired or wrongly signed.</summary>
    public const string Unauthorized = "unauthorized";
    /// <summary>401: login with an unknown email or a wrong password (the two are not told apart).</summary>
    public const string InvalidCredentials = "invalid_credentials";
    /// <summary>403: the credential is valid but does not grant this resource.</summary>
    public const string Forbidden = "forbidden";
    /// <summary>404: the resource does not exist (for operators; guests get 403 so ids cannot be probed).</summary>
    public const string NotFound = "not_found";
    /// <summary>409: the request conflicts with the current state (e.g. the email is taken).</summary>
    public const string Conflict = "conflict";
    /// <summary>413: the request body is larger than the configured limit.</summary>
    public const string PayloadTooLarge = "payload_too_large";
    /// <summary>415: the body is not <c>application/json</c>.</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";
    /// <summary>429: a rate limit was hit; see <c>Retry-After</c>.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>503: the node or this client has reached its connection limit; see <c>Retry-After</c>.</summary>
    public const string TooManyConnections = "too_many_connections";
    /// <summary>503: the node is draining for shutdown; reconnect to another node.</summary>
    public const string ShuttingDown = "shutting_down";
    /// <summary>500: an unexpected server error; the detail never carries internals.</summary>
    public const string InternalError = "internal_error";
}

/// <summary>
/// Why the server ended a stream. Sent as the <c>reason</c> of the final <c>disconnect</c> SSE event or the
/// WebSocket close reason, and used as the metric and log label.
/// </summary>
public static class DisconnectReasons
{
    /// <summary>The client could not keep up: its queue exceeded the limit. Reconnect with Last-Event-ID.</summary>
    public const string SlowConsumer = "slow_consumer";
    /// <summary>A write did not complete within the write timeout; the peer is considered dead.</summary>
    public const string WriteTimeout = "write_timeout";
    /// <summary>The node is shutting down; reconnect (to another node) with Last-Event-ID.</summary>
    public const string ShuttingDown = "shutting_down";
    /// <summary>The credential that authorised the stream expired.</summary>
    public const string AuthExpired = "auth_expired";
    /// <summary>
    /// What authorised the stream no longer does (site token revoked or rotated, domains changed, the identity rule
    /// switched on, the assistant's domains no longer allow the page); the SSE event's <c>detail</c> and the WebSocket
    /// close reason name which.
    /// </summary>
    public const string AuthRevoked = "auth_revoked";
    /// <summary>The client closed the connection.</summary>
    public const string ClientClosed = "client_closed";
    /// <summary>Missed pings: the peer stopped answering.</summary>
    public const string PingTimeout = "ping_timeout";
}

/// <summary>
/// WebSocket close codes. 1000-1015 are the RFC 6455 codes; 4000-4499 mean "do not reconnect without a
/// change" (fix the credential or request), 4500-4999 mean "reconnect" (transient; resume with last_event_id).
/// </summary>
public static class CloseCodes
{
    public const int Normal = 1000;
    /// <summary>RFC 6455 "Service Restart": the node is draining; reconnect with last_event_id.</summary>
    public const int ServiceRestart = 1012;
    /// <summary>Missing or invalid credential.</summary>
    public const int Unauthorized = 4001;
    /// <summary>Bad request: malformed parameters or message.</summary>
    public const int BadRequest = 4000;
    /// <summary>The credential does not grant this dialog or topic.</summary>
    public const int Forbidden = 4003;
    /// <summary>The dialog does not exist.</summary>
    public const int NotFound = 4004;
    /// <summary>The credential expired and no fresh one was presented.</summary>
    public const int AuthExpired = 4010;
    /// <summary>The credential was revoked or no longer grants the stream; the close reason names why.</summary>
    public const int AuthRevoked = 4011;
    /// <summary>Rate or connection limit hit.</summary>
    public const int TooManyRequests = 4029;
    /// <summary>The client could not keep up; reconnect with last_event_id.</summary>
    public const int SlowConsumer = 4508;
    /// <summary>The peer stopped answering pings.</summary>
    public const int PingTimeout = 4509;
}
