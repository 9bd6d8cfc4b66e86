namespace Herald.Protocol.Sse;

/// <summary>
/// One dispatched Server-Sent Event, as <see cref="SseEventReader"/> produces it by the WHATWG steps to dispatch
/// the event (HTML, "9.2.6 Interpreting an event stream").
/// </summary>
/// <param name="Type">
/// The event type: the block's <c>event</c> field, or <c>message</c> when the block had none or an empty one
/// (spec: "If the event type buffer has a value other than the empty string, change the type of the newly created
/// event to equal the value of the event type buffer"). Never empty.
/// </param>
/// <param name="Data">The block's <c>data</c> fields joined with LF (the data buffer without its final LF).</param>
/// <param name="Id">
/// The <c>id</c> field of this event's own block (the last one when it had several), or <see langword="null"/>
/// when the block had none or only ones containing NUL. An <c>id</c> line without a value gives <c>""</c>.
/// </param>
/// <param name="LastEventId">
/// The stream's last event ID string when this event was dispatched (the <c>MessageEvent.lastEventId</c> a
/// browser shows): the last <c>id</c> field seen, in this block or any before it.
/// </param>
/// <param name="Retry">
/// The reconnection time set by a valid <c>retry</c> field of this event's own block, or <see langword="null"/>
/// when the block had none. The stream-wide value is <see cref="SseEventReader.ReconnectionTime"/>.
/// </param>
public sealed record SseEvent(string Type, string Data, string? Id, string LastEventId, TimeSpan? Retry)
{
    /// <summary>The event type a block without an <c>event</c> field (or with an empty one) is dispatched as.</summary>
    public const string DefaultType = "message";
}
