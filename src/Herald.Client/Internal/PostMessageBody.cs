namespace Herald.Client.Internal;

internal sealed record PostMessageBody(string? Sender, string Text, string? ClientMessageId);
