namespace Herald.Server.Storage;

public sealed class DialogRecord
{
    public long Id { get; set; }
    public long AssistantId { get; set; }
    public string? GuestId { get; set; }
    public long CreatedAt { get; set; }
    public long? LastMessageAt { get; set; }
    public string? LastMessageText { get; set; }
    public string? LastMessageSender { get; set; }
    public long UnreadCount { get; set; }
}
