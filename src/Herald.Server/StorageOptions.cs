namespace Herald.Server;

public sealed class StorageOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";
    /// <summary>Where the SQLite file lives.</summary>
    public string DataDirectory { get; set; } = "./data";
    /// <summary>An Npgsql connection string when <see cref="Provider"/> is <c>postgres</c>.</summary>
    public string? ConnectionString { get; set; }
    /// <summary>Events kept per topic regardless of age.</summary>
    public int RetainEventsPerTopic { get; set; } = 10_000;
    /// <summary>Events younger than this are kept regardless of count.</summary>
    public TimeSpan RetainEventsFor { get; set; } = TimeSpan.FromDays(7);
    /// <summary>How often the retention job runs.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>Most write requests committed in one transaction.</summary>
    public int MaxWriteBatch { get; set; } = 256;
}
