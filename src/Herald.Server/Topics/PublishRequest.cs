using System.Text.Json;

namespace Herald.Server.Topics;

/// <summary>One generic publish, as <c>POST /api/publish</c> and the topic socket's <c>publish</c> frame send it.</summary>
public sealed record PublishRequest(string? Topic, string? Event, JsonElement? Data, bool? Durable);
