namespace Herald.Bridge;

/// <summary>A message a bridge client sent, parsed. <see cref="Id"/> is the raw JSON of the request id, if any.</summary>
internal abstract record ClientMessage(string? Id);
