namespace Herald.Server.Dialogs;

public sealed record CreateAssistantRequest(string? Name);
