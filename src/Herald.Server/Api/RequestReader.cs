using System.Buffers;
using System.Text.Json;
using Herald.Protocol;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Herald.Server.Api;

/// <summary>
/// Reads and validates request input into typed values or an <see cref="ApiError"/>, so every endpoint
/// answers malformed input the same way: 400/413/415 with <c>{"error","detail"}</c>, never an exception.
/// </summary>
public sealed class RequestReader(IOptions<HeraldOptions> options)
{
    private readonly long _maxBody = options.Value.Limits.MaxRequestBodyBytes;

    /// <summary>Reads the JSON body as <typeparamref name="T"/>.</summary>
    public async ValueTask<(T? Value, ApiError? Error)> ReadJsonAsync<T>(HttpContext context) where T : class
    {
        var request = context.Request;
        if (request.ContentType is { Length: > 0 } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, new ApiError(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedMediaType, "Send the body as application/json."));
        }

        if (request.ContentLength > _maxBody)
        {
            return (null, TooLarge());
        }

        // Also enforced while reading, for chunked bodies that declare no length.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = _maxBody;
        }

        ReadOnlySequence<byte> body;
        try
        {
            while (true)
            {
                var read = await request.BodyReader.ReadAsync(context.RequestAborted);
                if (read.Buffer.Length > _maxBody)
                {
                    return (null, TooLarge());
                }

                if (read.IsCompleted)
                {
                    body = read.Buffer;
                    break;
                }

                request.BodyReader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge());
        }

        try
        {
            if (body.IsEmpty)
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidJson, "The request body is empty; send a JSON object."));
            }

            var reader = new Utf8JsonReader(body);
            var value = JsonSerializer.Deserialize<T>(ref reader, HeraldJson.Options);
            if (value is null)
            {
                return (null, ApiError.BadRequest(ErrorCodes.InvalidJson, "The request body must be a JSON object, not null."));
            }

            // The reader stops after one value: without this, "{..} garbage" or two objects would be taken as the first.
            return IsJsonWhitespace(body.Slice(reader.Position))
                ? (value, null)
                : (null, ApiError.BadRequest(ErrorCodes.InvalidJson, "The body has data after its JSON value; send exactly one JSON object."));
        }
        catch (JsonException ex)
        {
            // The path and position help the caller; the message of JsonException never contains the body itself.
            var where = ex.Path is { Length: > 0 } path ? $" at {path}" : "";
            return (null, ApiError.BadRequest(ErrorCodes.InvalidJson, $"The body is not valid JSON for this endpoint{where}: {FirstSentence(ex.Message)}"));
        }
        catch (InvalidOperationException ex)
        {
            return (null, ApiError.BadRequest(ErrorCodes.InvalidJson, $"The body is not valid JSON: {FirstSentence(ex.Message)}"));
        }
        finally
        {
            request.BodyReader.AdvanceTo(body.End);
        }
    }

    /// <summary>Parses a positive 64-bit id from a route or query value.</summary>
    public static (long Value, ApiError? Error) ParseId(string? raw, string name)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return (0, ApiError.BadRequest(ErrorCodes.MissingField, $"'{name}' is required."));
        }

        return long.TryParse(raw, System.Globalization.NumberStyles.None, null, out var id) && id > 0
            ? (id, null)
            : (0, ApiError.BadRequest(ErrorCodes.InvalidField, $"'{name}' must be a positive integer."));
    }

    /// <summary>Parses an optional non-negative id (after_id, last_event_id); null when absent.</summary>
    public static (long? Value, ApiError? Error) ParseOptionalPosition(string? raw, string name)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return (null, null);
        }

        return long.TryParse(raw, System.Globalization.NumberStyles.None, null, out var id)
            ? (id, null)
            : (null, ApiError.BadRequest(ErrorCodes.InvalidField, $"'{name}' must be a non-negative integer."));
    }

    // RFC 8259: space, horizontal tab, line feed and carriage return; nothing else (not NBSP, not NUL) may follow the value.
    private static bool IsJsonWhitespace(ReadOnlySequence<byte> rest)
    {
        foreach (var segment in rest)
        {
            if (segment.Span.ContainsAnyExcept(" \t\n\r"u8))
            {
                return false;
            }
        }

        return true;
    }

    private ApiError TooLarge() =>
        new(StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge, $"The request body exceeds {_maxBody} bytes.");

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut > 0 ? message[..(cut + 1)] : message;
    }
}
