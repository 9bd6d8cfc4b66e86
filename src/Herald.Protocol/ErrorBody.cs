using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Herald.Protocol;

/// <summary>
/// The body of every HTTP error answer of the gateway and the bridge, <c>{"error": code, "detail": text}</c>
/// (codes in <see cref="ErrorCodes"/>). The status line and headers are the host's; this is the bytes after them.
/// </summary>
public sealed record ErrorBody(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("detail")] string Detail)
{
    /// <summary>The <c>Content-Type</c> of an error body.</summary>
    public const string ContentType = "application/json; charset=utf-8";

    // Details quote Russian text and user input; they stay readable (HTML-sensitive characters are still escaped).
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
    };

    /// <summary>Writes the body as UTF-8 JSON.</summary>
    public Task WriteAsync(Stream body, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeAsync(body, this, Options, cancellationToken);
}
