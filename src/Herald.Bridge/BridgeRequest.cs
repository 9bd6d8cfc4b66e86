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

/// <summary>A message a bridge client sent, parsed. <see cref="Id"/> is the raw JSON of the request id, if any.</summary>
internal abstract record ClientMessage(string? Id);

/// <summary>Open a stream (the seed's request object).</summary>
internal sealed record OpenStreamMessage(string? Id, UpstreamRequest Request, bool? Resume) : ClientMessage(Id);

/// <summary><c>{"type":"cancel","id":..}</c>: end the stream with that id.</summary>
internal sealed record CancelStreamMessage(string? Id) : ClientMessage(Id);

/// <summary>A message that could not be used; <see cref="Error"/> says why, for the <c>error</c> reply.</summary>
internal sealed record InvalidMessage(string? Id, string Error) : ClientMessage(Id);
