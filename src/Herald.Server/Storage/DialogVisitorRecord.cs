namespace Herald.Server.Storage;

public sealed class DialogVisitorRecord
{
    public long DialogId { get; set; }
    public string? PageUrl { get; set; }
    public string? Referrer { get; set; }
    public string? UserAgent { get; set; }
    public long UpdatedAt { get; set; }
}
