namespace Herald.Server;

/// <summary>
/// Everything under the <c>Herald</c> configuration section. docs/deploy.md lists each setting,
/// its default and its environment variable (<c>Herald__Section__Key</c>).
/// </summary>
public sealed class HeraldOptions
{
    public StorageOptions Storage { get; set; } = new();
    public AuthOptions Auth { get; set; } = new();
    public StreamOptions Streams { get; set; } = new();
    public ChatOptions Chat { get; set; } = new();
    public RedisOptions Redis { get; set; } = new();
    public LimitsOptions Limits { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();

    // Operations (Operations/OperationsOptions.cs): drain, proxies, metrics.
    public ShutdownOptions Shutdown { get; set; } = new();
    public NetworkOptions Network { get; set; } = new();
    public MetricsOptions Metrics { get; set; } = new();
}

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

public sealed class AuthOptions
{
    /// <summary>HS256 key for operator JWTs; at least 32 bytes. Every node must share it.</summary>
    public string? SigningKey { get; set; }
    public string Issuer { get; set; } = "herald";
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);
    /// <summary>Optional keys for <c>POST /api/publish</c> from services (header <c>X-Api-Key</c>).</summary>
    public string[] ApiKeys { get; set; } = [];
    /// <summary>
    /// Lets service keys read the chat topics (<c>dialog:{id}</c>, <c>dialogs</c>) over <c>/api/events</c> and
    /// <c>/api/poll</c>, e.g. for an archive or analytics backend. Off: a key reaches generic topics only. Publishing
    /// to a chat topic stays refused either way. Needs <see cref="ApiKeys"/> (checked at start).
    /// </summary>
    public bool ServiceChatRead { get; set; }
}

public sealed class CorsOptions
{
    /// <summary>
    /// Origins (<c>scheme://host[:port]</c>, exact, never <c>*</c>) of operator apps served elsewhere than Herald,
    /// e.g. an admin frontend on <c>http://localhost:3000</c>: they get CORS on every <c>/api</c> endpoint, with
    /// <c>Authorization</c> allowed in preflights. Checked at start.
    /// </summary>
    public string[] OperatorOrigins { get; set; } = [];
}

public sealed class StreamOptions
{
    /// <summary>Base <c>retry:</c> value sent first on every SSE stream.</summary>
    public int RetryMilliseconds { get; set; } = 5000;
    /// <summary>Up to this much is added at random per connection so a restart does not bring everyone back at once.</summary>
    public int RetryJitterMilliseconds { get; set; } = 2500;
    /// <summary>A connection idle this long gets a <c>: heartbeat</c> comment.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>A write (flush) that has not completed after this long marks the peer dead.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Queued events per connection before it is disconnected as a slow consumer.</summary>
    public int MaxQueuedEvents { get; set; } = 1024;
    /// <summary>Queued bytes per connection before it is disconnected as a slow consumer.</summary>
    public int MaxQueuedBytes { get; set; } = 1024 * 1024;
    /// <summary>Concurrent streaming connections (SSE, WebSocket, long-poll) this node accepts.</summary>
    public int MaxConnections { get; set; } = 50_000;
    /// <summary>How long before a token expires its streams get <c>auth-expiring</c>.</summary>
    public TimeSpan AuthWarningLead { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most events one replay (Last-Event-ID) sends before it answers with <c>reset</c> instead.</summary>
    public int MaxReplayEvents { get; set; } = 10_000;

    /// <summary>
    /// SSE streams on plain HTTP/1.1 connections leave Kestrel's request state once their headers are out and go on
    /// over the bare connection (<see cref="Transports.Handoff.ConnectionHandoff"/>): about 7 KB less per idle stream. False
    /// keeps every stream inside Kestrel's request pipeline. Read at start-up.
    /// </summary>
    public bool HandOffConnections { get; set; } = true;
}

public sealed class ChatOptions
{
    public int MaxMessageLength { get; set; } = 4000;
    /// <summary>Messages returned by one history request at most.</summary>
    public int MaxHistoryPage { get; set; } = 500;
}

public sealed class RedisOptions
{
    /// <summary><c>redis://[user:password@]host:port[/db]</c> or <c>rediss://</c>; empty disables the backplane.</summary>
    public string? Url { get; set; }
    /// <summary>Channel prefix for topics that are not dialogs (dialogs use <c>ws:dialog:{id}</c>).</summary>
    public string ChannelPrefix { get; set; } = "herald:topic:";
}

public sealed class LimitsOptions
{
    /// <summary>Largest request body accepted, in bytes (413 above).</summary>
    public long MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Concurrent streaming connections from one client IP (503 above); 0 = no limit.</summary>
    public int MaxConnectionsPerIp { get; set; } = 1000;

    /// <summary>Messages one client IP may post per second, sustained (429 above); 0 = no limit.</summary>
    public double MessagesPerIpPerSecond { get; set; } = 50;

    /// <summary>Messages one client IP may post in a burst.</summary>
    public int MessageBurstPerIp { get; set; } = 100;

    /// <summary>Messages one guest may post per second, sustained; 0 = no limit.</summary>
    public double MessagesPerGuestPerSecond { get; set; } = 3;

    /// <summary>Messages one guest may post in a burst.</summary>
    public int MessageBurstPerGuest { get; set; } = 20;

    /// <summary>Login attempts per client IP per minute; 0 = no limit.</summary>
    public int LoginsPerIpPerMinute { get; set; } = 10;

    /// <summary>New dialogs one client IP may open per minute, sustained (429 above); 0 = no limit. A returning visitor's dialog does not count.</summary>
    public double DialogsPerIpPerMinute { get; set; } = 30;

    /// <summary>New dialogs one client IP may open in a burst (several visitors behind one NAT).</summary>
    public int DialogBurstPerIp { get; set; } = 20;

    /// <summary>New dialogs per assistant per minute from all addresses together, sustained; 0 = no limit.</summary>
    public double DialogsPerAssistantPerMinute { get; set; } = 600;

    /// <summary>New dialogs per assistant in a burst.</summary>
    public int DialogBurstPerAssistant { get; set; } = 200;
}
