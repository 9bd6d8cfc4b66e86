namespace Herald.Bridge;

/// <summary>A message that could not be used; <see cref="Error"/> says why, for the <c>error</c> reply.</summary>
internal sealed record InvalidMessage(string? Id, string Error) : ClientMessage(Id);
