namespace Herald.Bridge;

/// <summary>One dispatched SSE event in the shape of the seed's <c>sse-event</c> payload.</summary>
/// <param name="Id">The <c>id</c> field of this event's own block, or <see langword="null"/> when the block had none.</param>
/// <param name="Event">The event type; <c>message</c> when the block had no <c>event</c> field or an empty one.</param>
/// <param name="Data">The data lines joined with LF.</param>
/// <param name="Retry">The <c>retry</c> field of this event's own block in milliseconds, as the seed shows it ("5000"), or <see langword="null"/>.</param>
internal sealed record UpstreamEvent(string? Id, string Event, string Data, string? Retry);
