namespace Herald.Server;

/// <summary>
/// Everything under the <c>Herald</c> configuration section. docs/deploy.md lists each setting,
/// its default and its environment variable (<c>Herald__Section__Key</c>).
/// </summary>
public sealed class HeraldOptions
{
    /// <summary>Where Herald listens when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    public StorageOptions Storage { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    public AppTokenOptions AppTokens { get; set; } = new();
    public StreamOptions Streams { get; set; } = new();
    public ChatOptions Chat { get; set; } = new();
    public RedisOptions Redis { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();
    public PresenceOptions Presence { get; set; } = new();
    public MercureOptions Mercure { get; set; } = new();

    // Operations: drain, proxies, metrics.
    public ShutdownOptions Shutdown { get; set; } = new();
    public NetworkOptions Network { get; set; } = new();
    public MetricsOptions Metrics { get; set; } = new();
}
