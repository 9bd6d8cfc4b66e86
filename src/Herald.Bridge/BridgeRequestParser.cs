using System.Text;
using System.Text.Json;

namespace Herald.Bridge;

/// <summary>
/// Parses a client's WebSocket message: the seed's request object
/// <c>{"protocol","address","port","path","method","headers","body"}</c>, optionally with Herald's <c>id</c>,
/// <c>resume</c> and <c>type</c> fields. Never throws: anything unusable becomes an <see cref="InvalidMessage"/>.
/// </summary>
internal static class BridgeRequestParser
{
    private static readonly HashSet<string> Methods = new(StringComparer.Ordinal) { "GET", "POST", "PUT", "PATCH", "DELETE" };

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32 };

    public static ClientMessage Parse(ReadOnlyMemory<byte> utf8, int maxBodyBytes)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return new InvalidMessage(null, $"Malformed request: not valid JSON ({ex.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new InvalidMessage(null, "Malformed request: expected a JSON object.");
            }

            string? id = null;
            if (root.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
            {
                if (idElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
                {
                    return new InvalidMessage(null, "Malformed request: 'id' must be a string or a number.");
                }

                id = idElement.GetRawText();
                if (id.Length > 130)
                {
                    return new InvalidMessage(null, "Malformed request: 'id' is longer than 128 characters.");
                }
            }

            var type = root.TryGetProperty("type", out var typeElement) && typeElement.ValueKind == JsonValueKind.String
                ? typeElement.GetString()
                : null;
            switch (type)
            {
                case "cancel":
                    return new CancelStreamMessage(id);
                case null or "request":
                    break;
                default:
                    return new InvalidMessage(id, $"Unknown message type '{type}'; expected a request or \"cancel\".");
            }

            try
            {
                return ParseRequest(root, id, maxBodyBytes);
            }
            catch (RequestFormatException ex)
            {
                return new InvalidMessage(id, ex.Message);
            }
        }
    }

    private static OpenStreamMessage ParseRequest(JsonElement root, string? id, int maxBodyBytes)
    {
        var protocol = (OptionalString(root, "protocol") ?? "http").Trim().ToLowerInvariant();
        if (protocol.Length == 0 || !protocol.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '-' or '.'))
        {
            throw new RequestFormatException($"Invalid request: 'protocol' '{protocol}' is not a URL scheme.");
        }

        var address = OptionalString(root, "address")?.Trim();
        if (string.IsNullOrEmpty(address))
        {
            throw new RequestFormatException("Invalid request: 'address' is required (a host name or IP address).");
        }

        var bareAddress = address.Trim('[', ']');
        if (Uri.CheckHostName(bareAddress) == UriHostNameType.Unknown)
        {
            throw new RequestFormatException($"Invalid request: 'address' '{address}' is not a host name or IP address.");
        }

        var port = ParsePort(root);
        var path = OptionalString(root, "path") ?? "/";
        if (path.Length == 0 || path[0] != '/')
        {
            path = "/" + path;
        }

        if (path.AsSpan().ContainsAny("\r\n\0#"))
        {
            throw new RequestFormatException("Invalid request: 'path' must not contain CR, LF, NUL or '#'.");
        }

        var method = (OptionalString(root, "method") ?? "GET").Trim().ToUpperInvariant();
        if (!Methods.Contains(method))
        {
            throw new RequestFormatException($"Invalid request: 'method' '{method}' is not one of GET, POST, PUT, PATCH, DELETE.");
        }

        var query = path.IndexOf('?', StringComparison.Ordinal);
        var builder = new UriBuilder
        {
            Scheme = protocol,
            Host = bareAddress.Contains(':', StringComparison.Ordinal) ? $"[{bareAddress}]" : bareAddress,
            Port = port ?? -1,
            Path = query < 0 ? path : path[..query],
            Query = query < 0 ? "" : path[(query + 1)..],
        };
        Uri uri;
        try
        {
            uri = builder.Uri;
        }
        catch (UriFormatException)
        {
            throw new RequestFormatException("Invalid request: 'protocol', 'address', 'port' and 'path' do not form a URL.");
        }

        var headers = ParseHeaders(root);
        var (body, contentType) = ParseBody(root, maxBodyBytes);
        bool? resume = root.TryGetProperty("resume", out var resumeElement) && resumeElement.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? resumeElement.GetBoolean()
            : null;
        return new OpenStreamMessage(id, new UpstreamRequest(uri, new HttpMethod(method), headers, body, contentType), resume);
    }

    private static int? ParsePort(JsonElement root)
    {
        if (!root.TryGetProperty("port", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        // The seed types it as a number; a numeric string is what a form or an env variable produces, so it is accepted.
        if ((element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var port))
            || (element.ValueKind == JsonValueKind.String && int.TryParse(element.GetString(), System.Globalization.NumberStyles.None, null, out port)))
        {
            if (port is >= 1 and <= 65535)
            {
                return port;
            }
        }

        throw new RequestFormatException("Invalid request: 'port' must be a number from 1 to 65535.");
    }

    private static List<KeyValuePair<string, string>> ParseHeaders(JsonElement root)
    {
        List<KeyValuePair<string, string>> headers = [];
        if (!root.TryGetProperty("headers", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return headers;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new RequestFormatException("Invalid request: 'headers' must be an object of name/value strings.");
        }

        foreach (var header in element.EnumerateObject())
        {
            if (header.Name.Length == 0 || !header.Name.All(IsTokenChar))
            {
                throw new RequestFormatException($"Invalid request: '{header.Name}' is not a valid header name.");
            }

            var value = header.Value.ValueKind switch
            {
                JsonValueKind.String => header.Value.GetString()!,
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => header.Value.GetRawText(),
                _ => throw new RequestFormatException($"Invalid request: header '{header.Name}' must be a string."),
            };
            if (value.AsSpan().ContainsAny("\r\n\0"))
            {
                throw new RequestFormatException($"Invalid request: header '{header.Name}' contains CR, LF or NUL.");
            }

            headers.Add(new(header.Name, value));
        }

        return headers;
    }

    /// <summary>A string body is sent as text; any other JSON value as its JSON text, as the seed's proxy does.</summary>
    private static (byte[]? Body, string? ContentType) ParseBody(JsonElement root, int maxBodyBytes)
    {
        if (!root.TryGetProperty("body", out var element) || element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return (null, null);
        }

        var (bytes, contentType) = element.ValueKind == JsonValueKind.String
            ? (Encoding.UTF8.GetBytes(element.GetString()!), "text/plain; charset=utf-8")
            : (Encoding.UTF8.GetBytes(element.GetRawText()), "application/json");
        if (bytes.Length > maxBodyBytes)
        {
            throw new RequestFormatException($"Invalid request: 'body' is {bytes.Length} bytes; the limit is {maxBodyBytes} (proxy.limits.maxBodyBytes).");
        }

        return (bytes, contentType);
    }

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return element.ValueKind == JsonValueKind.String
            ? element.GetString()
            : throw new RequestFormatException($"Invalid request: '{name}' must be a string.");
    }

    // RFC 9110 token characters.
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private sealed class RequestFormatException(string message) : Exception(message);
}
