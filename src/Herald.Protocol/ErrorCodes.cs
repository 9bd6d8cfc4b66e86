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
    /// <summary>503: the backplane (Redis) cannot be reached, so an answer about every node cannot be given; retry later.</summary>
    public const string BackplaneUnavailable = "backplane_unavailable";
    /// <summary>500: an unexpected server error; the detail never carries internals.</summary>
    public const string InternalError = "internal_error";
}
