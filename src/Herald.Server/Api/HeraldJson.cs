using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Server.Api;

/// <summary>The JSON conventions of the API: snake_case names, as the seeds' API uses.</summary>
public static class HeraldJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// Sets the API's conventions on <paramref name="options"/>. Also applied to the framework's JSON options, because
    /// the OpenAPI generator describes bodies through those: without it, /openapi/v1.json named fields in camelCase
    /// and allowed numbers as strings, which is not what the handlers read and write.
    /// </summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        // Cyrillic and other text stays readable on the wire (seed 000's messages are Russian); HTML-sensitive
        // characters are still escaped, and JSON never carries a raw CR or LF, so SSE framing stays intact.
        options.Encoder = JavaScriptEncoder.Create(System.Text.Unicode.UnicodeRanges.All);
        options.NumberHandling = JsonNumberHandling.Strict;
        options.AllowTrailingCommas = false;
        options.ReadCommentHandling = JsonCommentHandling.Disallow;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip;
        options.RespectNullableAnnotations = true;
    }

    /// <summary>ISO 8601 UTC with milliseconds, e.g. <c>2025-09-06T12:00:00.123Z</c>.</summary>
    public static string FormatTime(long unixMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
