using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Herald.Server.Events;

namespace Herald.Server.Mercure;

/// <summary>
/// A Mercure update as Herald stores it: one event on the Herald topic <see cref="HeraldTopic"/>, type
/// <see cref="EventType"/>, whose JSON payload keeps the update's topics (IRIs, every character as published), data,
/// privacy, SSE type, retry and custom id. One stored event per update, whatever the number of its topics: each
/// subscriber gets it once, and its id is one position in Herald's gapless sequence on every node.
/// </summary>
/// <remarks>
/// Mercure topics never become Herald topic names, so no IRI can reach the chat's reserved namespaces
/// (<c>dialog:…</c>, <c>dialogs</c>), and Herald's topic-name rules (128 characters of a small alphabet) never bend an IRI.
/// </remarks>
public sealed class MercureUpdate
{
    /// <summary>The Herald topic every Mercure update is stored and fanned out on (reserved: no other API reaches it).</summary>
    public const string HeraldTopic = "mercure";

    /// <summary>The Herald event type of a stored update.</summary>
    public const string EventType = "mercure";

    /// <summary>The prefix of ids Herald generates: a fragment holding the Herald event id (the draft allows <c>#…</c>).</summary>
    public const char GeneratedIdPrefix = '#';

    private static readonly MercureUpdate Unreadable = new([], false, "", []);

    private MercureUpdate(IReadOnlyList<string> topics, bool isPrivate, string id, byte[] frame)
    {
        Topics = topics;
        IsPrivate = isPrivate;
        Id = id;
        Frame = frame;
    }

    public IReadOnlyList<string> Topics { get; }

    public bool IsPrivate { get; }

    /// <summary>The update's Mercure id: the publisher's, or <c>#</c> and the Herald event id.</summary>
    public string Id { get; }

    /// <summary>The SSE frame every Mercure subscriber gets: <c>id:</c>, <c>event:</c>, <c>retry:</c>, <c>data:</c> lines.</summary>
    public byte[] Frame { get; }

    /// <summary>The id a publish answers with, before the event exists as a <see cref="HubEvent"/>.</summary>
    public static string IdOf(long heraldId, string? customId) =>
        customId ?? GeneratedIdPrefix + heraldId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The stored payload of an update.</summary>
    public static byte[] Encode(IReadOnlyList<string> topics, string? data, bool isPrivate, string? type, long? retry, string? customId) =>
        JsonSerializer.SerializeToUtf8Bytes(new Stored(topics, data, isPrivate ? true : null, type, retry, customId), StoredJson.Default.Stored);

    /// <summary>
    /// The event key a custom id is stored under, so a <c>Last-Event-ID</c> naming it is found by an indexed-topic
    /// scan of one key rather than by reading payloads. Never 0 (0 means "no key").
    /// </summary>
    public static long KeyOf(string customId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(customId), hash);
        var key = BitConverter.ToInt64(hash) & long.MaxValue;
        return key == 0 ? 1 : key;
    }

    /// <summary>The update an event carries, decoded once per event and node; an undecodable one matches nothing.</summary>
    public static MercureUpdate Of(HubEvent item) => item.Decoded(static e => Decode(e));

    /// <summary>The custom id stored in a payload, or null (for matching a stored row against a Last-Event-ID).</summary>
    public static string? CustomIdOf(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, StoredJson.Default.Stored)?.Id;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static MercureUpdate Decode(HubEvent item)
    {
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize(item.Data.Span, StoredJson.Default.Stored);
        }
        catch (JsonException)
        {
            return Unreadable;
        }

        if (stored?.Topics is not { Count: > 0 } topics)
        {
            return Unreadable;
        }

        var id = IdOf(item.Id, stored.Id);
        return new MercureUpdate(topics, stored.Private == true, id, EncodeFrame(id, stored.Type, stored.Retry, stored.Data ?? ""));
    }

    // Values were checked at publish (no CR, LF or NUL in id or type: the draft's SSE field-injection rule); data is
    // split into one data: line per line, so it cannot start a field or an event either.
    private static byte[] EncodeFrame(string id, string? type, long? retry, string data)
    {
        var frame = new StringBuilder(data.Length + id.Length + 32);
        frame.Append("id: ").Append(id).Append('\n');
        if (!string.IsNullOrEmpty(type))
        {
            frame.Append("event: ").Append(type).Append('\n');
        }

        if (retry is { } ms)
        {
            frame.Append("retry: ").Append(ms.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // CR, LF and CRLF only, as SSE splits lines (string.ReplaceLineEndings would take U+2028 and others too).
        foreach (var line in data.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n'))
        {
            frame.Append("data: ").Append(line).Append('\n');
        }

        return Encoding.UTF8.GetBytes(frame.Append('\n').ToString());
    }

    internal sealed record Stored(
        [property: JsonPropertyName("topics")] IReadOnlyList<string>? Topics,
        [property: JsonPropertyName("data")] string? Data,
        [property: JsonPropertyName("private")] bool? Private,
        [property: JsonPropertyName("type")] string? Type,
        [property: JsonPropertyName("retry")] long? Retry,
        [property: JsonPropertyName("id")] string? Id);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MercureUpdate.Stored))]
internal sealed partial class StoredJson : JsonSerializerContext;
