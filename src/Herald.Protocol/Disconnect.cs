namespace Herald.Protocol;

/// <summary>
/// Why a stream ended or was refused, as one value: the WebSocket close <see cref="Code"/>, the snake_case
/// <see cref="Reason"/> (the <c>reason</c> of SSE's final <c>disconnect</c> event, the start of the WebSocket close
/// reason, the metric and log label) and whether a client may <see cref="Reconnect"/> as it is.
/// </summary>
/// <remarks>
/// <para>The code ranges carry the reconnect rule, so a client that knows only the code decides the same way
/// (docs/protocol.md, "Close codes"; herald.js and the doctor apply <see cref="Reconnects"/>):</para>
/// <list type="bullet">
/// <item><description>1000–2999: RFC 6455 codes. Reconnect (with last_event_id).</description></item>
/// <item><description>4000–4499: do not reconnect without a change: a new credential, a fixed request. The code
/// mirrors the HTTP status where there is one (4001 ↔ 401, 4003 ↔ 403).</description></item>
/// <item><description>4500–4999: transient. Reconnect after a backoff with last_event_id.</description></item>
/// </list>
/// <para>3000–3999 are IANA-registered codes Herald never sends; a client reconnects on them like on any other
/// code outside 4000–4499. Unlike centrifuge (3000–3499 and 4000–4499 reconnect, 3500–3999 and 4500–4999 do not),
/// Herald's lower 4xxx half is the final one because deployed herald.js already reads it that way.</para>
/// </remarks>
public sealed class Disconnect
{
    /// <summary>Lowest code of the "do not reconnect without a change" range.</summary>
    public const int FirstFinalCode = 4000;

    /// <summary>Highest code of the "do not reconnect without a change" range.</summary>
    public const int LastFinalCode = 4499;

    private Disconnect(int code, string reason, bool reconnect, string meaning)
    {
        Code = code;
        Reason = reason;
        Reconnect = reconnect;
        Meaning = meaning;
    }

    /// <summary>The WebSocket close code.</summary>
    public int Code { get; }

    /// <summary>The snake_case reason: SSE <c>disconnect</c> event, WebSocket close reason, metric label.</summary>
    public string Reason { get; }

    /// <summary>True when a client may reconnect unchanged (resuming with last_event_id); always <see cref="Reconnects"/> of <see cref="Code"/>.</summary>
    public bool Reconnect { get; }

    /// <summary>One line for people: what happened and what the client does.</summary>
    public string Meaning { get; }

    /// <summary>The client closed the connection (also the server's close when it only answers the client's).</summary>
    public static readonly Disconnect ClientClosed = new(1000, "client_closed", true, "normal closure; the client closed it");

    /// <summary>A client frame broke RFC 6455 (unmasked, reserved bits, unknown opcode, a bad control or close frame); the close reason names which.</summary>
    public static readonly Disconnect ProtocolError = new(1002, "protocol_error", true, "a client frame broke RFC 6455 (the reason names how); fix the client");

    /// <summary>A client's text message or close reason was not valid UTF-8.</summary>
    public static readonly Disconnect InvalidPayload = new(1007, "invalid_payload", true, "a client text message was not valid UTF-8; fix the client");

    /// <summary>A client message was larger than the server accepts (4 KB on dialog sockets).</summary>
    public static readonly Disconnect MessageTooBig = new(1009, "message_too_big", true, "a client message was over 4 KB; fix the client, reconnecting is allowed");

    /// <summary>The node is draining for shutdown (RFC 6455 "Service Restart").</summary>
    public static readonly Disconnect ShuttingDown = new(1012, ErrorCodes.ShuttingDown, true, "the node is draining; reconnect (another node answers) with last_event_id");

    /// <summary>A malformed id, parameter or message; a widget socket without <c>guest_id</c>.</summary>
    public static readonly Disconnect BadRequest = new(4000, "bad_request", false, "bad request: malformed id or parameter; fix the request");

    /// <summary>Missing or invalid credential.</summary>
    public static readonly Disconnect Unauthorized = new(4001, ErrorCodes.Unauthorized, false, "missing or invalid credential; re-authenticate");

    /// <summary>The credential does not grant this dialog or topic.</summary>
    public static readonly Disconnect Forbidden = new(4003, ErrorCodes.Forbidden, false, "the credential does not grant this dialog");

    /// <summary>The dialog does not exist (operators; guests get 4003 so ids cannot be probed).</summary>
    public static readonly Disconnect NotFound = new(4004, ErrorCodes.NotFound, false, "the dialog does not exist");

    /// <summary>The credential that authorised the stream expired and no fresh one was presented.</summary>
    public static readonly Disconnect AuthExpired = new(4010, "auth_expired", false, "the credential expired; re-authenticate and resume");

    /// <summary>
    /// What authorised the stream no longer does (site token revoked or rotated, domains changed, the identity rule
    /// switched on, the assistant's domains no longer allow the page); the SSE event's <c>detail</c> and the WebSocket
    /// close reason (<c>auth_revoked: &lt;what changed&gt;</c>) name which.
    /// </summary>
    public static readonly Disconnect AuthRevoked = new(4011, "auth_revoked", false, "the grant was withdrawn; only a new credential helps");

    /// <summary>
    /// The application's backend disconnected this user (<c>POST /api/disconnect</c>, on every node). Final: a client
    /// that reconnected at once would undo it; the app decides when the user may come back.
    /// </summary>
    public static readonly Disconnect ServerDisconnect = new(4012, "server_disconnect", false, "the application's server disconnected this user; reconnect only when the app says so");

    /// <summary>The client could not keep up: its queue exceeded the limit.</summary>
    public static readonly Disconnect SlowConsumer = new(4508, "slow_consumer", true, "the client could not keep up; reconnect with last_event_id");

    /// <summary>The peer stopped answering pings.</summary>
    public static readonly Disconnect PingTimeout = new(4509, "ping_timeout", true, "the peer stopped answering pings; reconnect");

    /// <summary>A write did not complete within the write timeout; the peer is considered dead.</summary>
    public static readonly Disconnect WriteTimeout = new(4510, "write_timeout", true, "a write did not complete within the write timeout; reconnect");

    /// <summary>
    /// The node or this client has reached its connection limit. Transient: it was 4029 before, in the final
    /// range, and stopped clients that only had to wait.
    /// </summary>
    public static readonly Disconnect TooManyConnections = new(4529, ErrorCodes.TooManyConnections, true, "a connection limit was reached; reconnect after a backoff");

    /// <summary>Every disconnect, in code order.</summary>
    public static IReadOnlyList<Disconnect> All { get; } =
    [
        ClientClosed, ProtocolError, InvalidPayload, MessageTooBig, ShuttingDown, BadRequest, Unauthorized, Forbidden, NotFound, AuthExpired, AuthRevoked, ServerDisconnect,
        SlowConsumer, PingTimeout, WriteTimeout, TooManyConnections,
    ];

    private static readonly Dictionary<int, Disconnect> ByCode = All.ToDictionary(d => d.Code);
    private static readonly Dictionary<string, Disconnect> ByReason = All.ToDictionary(d => d.Reason, StringComparer.Ordinal);

    /// <summary>The rule every client applies to a close code: false only for 4000–4499.</summary>
    public static bool Reconnects(int code) => code is < FirstFinalCode or > LastFinalCode;

    /// <summary>The disconnect with this close code, or null.</summary>
    public static Disconnect? FromCode(int code) => ByCode.GetValueOrDefault(code);

    /// <summary>The disconnect with this reason, or null (for a reason this version does not know).</summary>
    public static Disconnect? FromReason(string? reason) => reason is null ? null : ByReason.GetValueOrDefault(reason);

    /// <summary>
    /// How a refused request (an HTTP status and <see cref="ErrorCodes"/> value) is told to a WebSocket, whose browser
    /// API shows only the close code and reason of a socket that was accepted.
    /// </summary>
    public static Disconnect ForRefusal(int httpStatus, string? error) => error switch
    {
        ErrorCodes.ShuttingDown => ShuttingDown,
        ErrorCodes.TooManyConnections or ErrorCodes.RateLimited => TooManyConnections,
        _ => httpStatus switch
        {
            401 => Unauthorized,
            403 => Forbidden,
            404 => NotFound,
            429 or 503 => TooManyConnections,
            _ => BadRequest,
        },
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Code} {Reason}";
}
