namespace Herald.Server.Dialogs;

public sealed record PostMessageRequest(string? Sender, string? Text, string? ClientMessageId);
