namespace Herald.Server.Dialogs;

/// <summary>The answer of <c>GET /api/widget/dialogs/{id}/availability</c>: whether an operator has the console open on any node.</summary>
public sealed record Availability(bool Available);
