using Herald.Server.Storage;

namespace Herald.Server.Auth;

public sealed record WidgetTokenCheck(bool Valid, string? Reason, WidgetTokenRecord? Token, AssistantRecord? Assistant)
{
    public static WidgetTokenCheck Invalid(string reason) => new(false, reason, null, null);
}
