namespace Herald.Server.Storage;

public sealed class MessageRecord
{
    public long Id { get; set; }
    public long DialogId { get; set; }
    public string Sender { get; set; } = "";
    public string Text { get; set; } = "";
    public long CreatedAt { get; set; }
    public string? ClientMessageId { get; set; }

    /// <summary>The operator who wrote a <c>manager</c> message (null for others, and for messages sent with an API key).</summary>
    public long? AuthorId { get; set; }

    /// <summary>That operator's display name when they wrote it: what the visitor sees.</summary>
    public string? AuthorName { get; set; }
}
