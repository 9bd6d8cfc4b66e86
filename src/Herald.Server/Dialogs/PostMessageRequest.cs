using Herald.Protocol.Web;
using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

public sealed record PostMessageRequest(string? Sender, string? Text, string? ClientMessageId);
