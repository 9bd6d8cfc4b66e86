namespace Herald.Server;

public sealed class RedisOptions
{
    /// <summary><c>redis://[user:password@]host:port[/db]</c> or <c>rediss://</c>; empty disables the backplane.</summary>
    public string? Url { get; set; }
    /// <summary>Channel prefix for topics that are not dialogs (dialogs use <c>ws:dialog:{id}</c>).</summary>
    public string ChannelPrefix { get; set; } = "herald:topic:";
}
