using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Client.Internal;

internal sealed record PostMessageBody(string? Sender, string Text, string? ClientMessageId);
