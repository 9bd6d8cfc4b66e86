namespace Herald.Server.Storage;

public sealed class EventRecord
{
    public long Id { get; set; }
    public string Topic { get; set; } = "";
    public string Type { get; set; } = "";
    public string Data { get; set; } = "";
    public long CreatedAt { get; set; }
    public long EventKey { get; set; }
}
