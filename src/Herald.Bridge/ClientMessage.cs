namespace Herald.Bridge;

/// <summary>A message a bridge client sent, parsed. <see cref="Id"/> is the raw JSON of the request id, if any.</summary>
internal abstract record ClientMessage(string? Id);

/// <summary>Open a stream (the seed's request object).</summary>
internal sealed record OpenStreamMessage(string? Id, UpstreamRequest Request, bool? Resume) : ClientMessage(Id);

/// <summary><c>{"type":"cancel","id":..}</c>: end the stream with that id.</summary>
internal sealed record CancelStreamMessage(string? Id) : ClientMessage(Id);

/// <summary>A message that could not be used; <see cref="Error"/> says why, for the <c>error</c> reply.</summary>
internal sealed record InvalidMessage(string? Id, string Error) : ClientMessage(Id);
