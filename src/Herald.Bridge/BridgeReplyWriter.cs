using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Herald.Bridge;

/// <summary>
/// Encodes the bridge's replies, <c>{"type":..,"id":..,"payload":..}</c>, into one reusable buffer. The
/// returned memory is valid until the next call, which is how a stream uses it: encode, await the send, repeat.
/// </summary>
/// <remarks>
/// Wire format (docs/bridge.md): <c>connected</c> <c>{status, headers}</c>; <c>sse-event</c>
/// <c>{id, event, data, retry}</c> with <c>id</c> and <c>retry</c> null when the event had none; <c>data</c>
/// with the data string (the seed's legacy message); <c>error</c> <c>{message}</c> plus <c>status</c> and
/// <c>body</c> for an unexpected upstream answer; <c>closed</c> <c>{reason}</c>. <c>id</c> is present only when
/// the request carried one, and is echoed as the client wrote it (string or number).
/// </remarks>
internal sealed class BridgeReplyWriter : IDisposable
{
    /// <summary>The seed's reason for a stream the SSE server ended.</summary>
    public const string ClosedNormally = "Server closed connection normally.";

    /// <summary>The reason for a stream the client cancelled.</summary>
    public const string ClosedByClient = "Cancelled by client.";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Replies go to a WebSocket, never into HTML: escape only what JSON requires, as JSON.stringify does,
        // so the seed's clients and logs see the text they expect.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private readonly Utf8JsonWriter _json;

    public BridgeReplyWriter() => _json = new Utf8JsonWriter(_buffer, WriterOptions);

    public ReadOnlyMemory<byte> Connected(string? id, int status, IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers)
    {
        Begin("connected", id);
        _json.WriteStartObject();
        _json.WriteNumber("status", status);
        _json.WriteStartObject("headers");
        foreach (var (name, values) in headers)
        {
            _json.WriteString(name.ToLowerInvariant(), string.Join(", ", values));
        }

        _json.WriteEndObject();
        _json.WriteEndObject();
        return End();
    }

    public ReadOnlyMemory<byte> SseEvent(string? id, UpstreamEvent sseEvent)
    {
        Begin("sse-event", id);
        _json.WriteStartObject();
        _json.WriteString("id", sseEvent.Id);
        _json.WriteString("event", sseEvent.Event);
        _json.WriteString("data", sseEvent.Data);
        _json.WriteString("retry", sseEvent.Retry);
        _json.WriteEndObject();
        return End();
    }

    public ReadOnlyMemory<byte> LegacyData(string? id, string data)
    {
        Begin("data", id);
        _json.WriteStringValue(data);
        return End();
    }

    public ReadOnlyMemory<byte> Error(string? id, string message, int? status = null, string? body = null)
    {
        Begin("error", id);
        _json.WriteStartObject();
        _json.WriteString("message", message);
        if (status is not null)
        {
            _json.WriteNumber("status", status.Value);
            _json.WriteString("body", body ?? "");
        }

        _json.WriteEndObject();
        return End();
    }

    public ReadOnlyMemory<byte> Closed(string? id, string reason)
    {
        Begin("closed", id);
        _json.WriteStartObject();
        _json.WriteString("reason", reason);
        _json.WriteEndObject();
        return End();
    }

    public void Dispose() => _json.Dispose();

    private void Begin(string type, string? id)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("type", type);
        if (id is not null)
        {
            // The raw JSON of the request's id (a string with its quotes, or a number), so it round-trips exactly.
            _json.WritePropertyName("id");
            _json.WriteRawValue(id, skipInputValidation: true);
        }

        _json.WritePropertyName("payload");
    }

    private ReadOnlyMemory<byte> End()
    {
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenMemory;
    }
}
