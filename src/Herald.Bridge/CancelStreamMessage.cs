namespace Herald.Bridge;

/// <summary><c>{"type":"cancel","id":..}</c>: end the stream with that id.</summary>
internal sealed record CancelStreamMessage(string? Id) : ClientMessage(Id);
