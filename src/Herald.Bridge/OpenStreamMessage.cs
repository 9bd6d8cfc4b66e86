namespace Herald.Bridge;

/// <summary>Open a stream (the seed's request object).</summary>
internal sealed record OpenStreamMessage(string? Id, UpstreamRequest Request, bool? Resume) : ClientMessage(Id);
