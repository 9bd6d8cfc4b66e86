using System.Text.Json.Serialization;

namespace Herald.Client;

/// <summary>
/// What a <c>reset</c> event says: the server could not replay from the client's position, so the client must
/// reload its history (REST) and continues from <see cref="LastEventId"/>.
/// </summary>
/// <param name="Reason"><c>unknown_position</c>, <c>history_trimmed</c> or <c>too_far_behind</c>.</param>
/// <param name="LastEventId">The position the stream continues from.</param>
public sealed record HeraldResetInfo(
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("last_event_id")] long LastEventId);
