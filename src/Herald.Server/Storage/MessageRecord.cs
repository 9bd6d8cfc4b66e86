namespace Herald.Server.Storage;

public sealed class MessageRecord
{
    public long Id { get; set; }
    public long DialogId { get; set; }
    public string Sender { get; set; } = "";
    public string Text { get; set; } = "";
    public long CreatedAt { get; set; }
    public string? ClientMessageId { get; set; }
}
