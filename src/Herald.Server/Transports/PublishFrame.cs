using System.Text.Json;

namespace Herald.Server.Transports;

/// <summary>
/// A message a client sends on the topic socket: <c>{"type":"publish","topic","event","data","durable","ref"}</c>
/// (<c>ref</c> is the client's own label, echoed in the answer), or <c>{"type":"auth","token"}</c>, or <c>ping</c>.
/// </summary>
public sealed record PublishFrame(string? Type, string? Topic, string? Event, JsonElement? Data, bool? Durable, string? Ref, string? Token);
