using System.Text.Json;

namespace Herald.Testing.Bridge;

/// <summary>Reading a seed-004 reply: <c>{"type": ..., "id": ..., "payload": ...}</c>.</summary>
public static class ReplyExtensions
{
    public static string? Type(this JsonElement reply) => reply.GetProperty("type").GetString();

    public static JsonElement Payload(this JsonElement reply) => reply.GetProperty("payload");

    public static string? Str(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The reply's <c>id</c> as raw JSON, or null when untagged.</summary>
    public static string? Id(this JsonElement reply) => reply.TryGetProperty("id", out var id) ? id.GetRawText() : null;

    public static string Message(this JsonElement reply) => reply.Payload().Str("message") ?? "";
}
