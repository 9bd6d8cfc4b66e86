using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Server.Transports;

/// <summary>
/// The answer of a long poll, as <see cref="LongPollTransport"/> writes it by hand (the events' data is copied as
/// stored, never parsed). This type names that shape for /openapi/v1.json; <c>OpenApiResponseTests</c> checks that
/// real answers match it.
/// </summary>
public sealed record PollResponse(IReadOnlyList<PollEvent> Events, long LastEventId);

/// <summary>One event of a <see cref="PollResponse"/>; <c>topic</c> is left out for events of no topic (a reset).</summary>
public sealed record PollEvent(long Id, string Event, JsonElement Data,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Topic = null);
