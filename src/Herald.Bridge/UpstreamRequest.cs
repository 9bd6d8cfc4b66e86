namespace Herald.Bridge;

/// <summary>One HTTP request the bridge makes upstream on a client's behalf, already validated.</summary>
/// <param name="Uri">Scheme, host, port, path and query from the client's <c>protocol</c>, <c>address</c>, <c>port</c>, <c>path</c>.</param>
/// <param name="Method">GET, POST, PUT, PATCH or DELETE.</param>
/// <param name="Headers">The client's headers; the allow-list is applied when the request is sent.</param>
/// <param name="Body">The body bytes, or <see langword="null"/> for none.</param>
/// <param name="BodyContentType">The content type the body gets when the client sent none.</param>
internal sealed record UpstreamRequest(
    Uri Uri,
    HttpMethod Method,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[]? Body,
    string? BodyContentType);
