using Herald.Server.Events;

namespace Herald.Server.Hub;

/// <summary>The events to replay, or a <c>reset</c> event (with the current head as its id) to send instead.</summary>
public sealed record ReplayResult(IReadOnlyList<HubEvent> Events, HubEvent? Reset);
