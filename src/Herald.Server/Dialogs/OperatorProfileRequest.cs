namespace Herald.Server.Dialogs;

/// <summary><c>PUT /api/operators/me</c>: <c>{"display_name": "Jane"}</c>, the name visitors see on the operator's messages.</summary>
public sealed record OperatorProfileRequest(string? DisplayName);
