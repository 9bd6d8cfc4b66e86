using Herald.Server.Api;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

public sealed record DialogDto(long Id, long AssistantId, string? GuestId, string CreatedAt, string? LastMessageAt, string? LastMessageText,
    string? LastMessageSender, long UnreadCount, string Status, long? AssigneeId)
{
    public static DialogDto From(DialogRecord d) => new(d.Id, d.AssistantId, d.GuestId, HeraldJson.FormatTime(d.CreatedAt),
        d.LastMessageAt is { } at ? HeraldJson.FormatTime(at) : null, d.LastMessageText, d.LastMessageSender, d.UnreadCount, d.Status, d.AssigneeId);
}
