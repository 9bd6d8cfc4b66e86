namespace Herald.Server.Dialogs;

/// <summary><c>PUT /api/dialogs/{id}/status</c>: <c>{"status": "open" | "resolved"}</c>.</summary>
public sealed record DialogStatusRequest(string? Status);
