namespace Herald.Server;

public sealed class ChatOptions
{
    public int MaxMessageLength { get; set; } = 4000;
    /// <summary>Messages returned by one history request at most.</summary>
    public int MaxHistoryPage { get; set; } = 500;
}
