namespace Herald.Bridge;

/// <summary>
/// The whole <c>settings.json</c> of seed 004: the <c>proxy</c>, <c>testServer</c> and <c>testClient</c> sections.
/// Names, defaults and units (milliseconds) are the seed's; docs/bridge.md lists every key.
/// </summary>
public sealed class BridgeSettings
{
    public ProxySettings Proxy { get; set; } = new();
    public TestServerSettings TestServer { get; set; } = new();
    public TestClientSettings TestClient { get; set; } = new();
}

/// <summary>
/// The bridge itself. <see cref="Port"/>, <see cref="Host"/> and <see cref="SseTimeout"/> are the seed's; the
/// rest are Herald's extensions. When the bridge is mounted in the main server the same shape is read from the
/// <c>Herald:Bridge</c> configuration section (host and port are then the server's).
/// </summary>
/// <remarks>
/// Lists are <see langword="null"/> until set, and the defaults are applied when the settings are compiled
/// (<see cref="BridgePolicy"/>): the configuration binder appends to a pre-filled list instead of replacing it,
/// so a default list here would silently widen what an operator configured.
/// </remarks>
public sealed class ProxySettings
{
    /// <summary>Seed: the port of the standalone bridge.</summary>
    public int Port { get; set; } = 3001;
    /// <summary>Seed: the host name or address the standalone bridge listens on.</summary>
    public string Host { get; set; } = "localhost";
    /// <summary>Seed: milliseconds without any byte from the SSE server before the stream fails; 0 = no limit.</summary>
    public int SseTimeout { get; set; }
    /// <summary>Where the WebSocket endpoint is mapped.</summary>
    public string Path { get; set; } = "/proxy";
    /// <summary>When set, clients must present it (<c>Authorization: Bearer</c> or <c>?token=</c>). Env <c>HERALD_BRIDGE_TOKEN</c> overrides.</summary>
    public string? Token { get; set; }
    /// <summary>
    /// Admit clients that present no credential. Mounted: needed to run without <see cref="Token"/> and without
    /// <see cref="AllowOperators"/>; standalone: needed to listen beyond loopback without a token. Otherwise the
    /// bridge refuses to start (docs/bridge.md, "Who may connect").
    /// </summary>
    public bool AllowAnonymous { get; set; }
    /// <summary>Mounted only: an operator JWT (<c>POST /api/auth/login</c>) admits a client, as on Herald's other endpoints.</summary>
    public bool AllowOperators { get; set; } = true;
    /// <summary>
    /// Browser origins allowed besides the server's own: Herald's domain patterns (<c>app.example</c>,
    /// <c>app.example:8443</c>, <c>*.example.com</c>; a leading <c>https://</c> is ignored), or <c>*</c> for any.
    /// Unset = the server's own origin only (standalone: also localhost pages). A request without an
    /// <c>Origin</c> header (not a browser) is not affected.
    /// </summary>
    public string[]? AllowedOrigins { get; set; }
    /// <summary>Send the seed's legacy <c>data</c> message after every <c>sse-event</c>.</summary>
    public bool LegacyData { get; set; } = true;
    /// <summary>Request headers a client may forward upstream (case-insensitive; a trailing <c>*</c> is a prefix). Others are dropped.</summary>
    public string[]? ForwardHeaders { get; set; }
    public AllowListSettings Allow { get; set; } = new();
    public BridgeLimitSettings Limits { get; set; } = new();
    public ResumeSettings Resume { get; set; } = new();
}

/// <summary>Which upstream targets the bridge may connect to. See docs/bridge.md, "Allow-list".</summary>
public sealed class AllowListSettings
{
    /// <summary>Allowed URL schemes. Default <c>http</c>, <c>https</c>.</summary>
    public string[]? Schemes { get; set; }
    /// <summary>Allowed values of the request's <c>address</c>: exact names or literals, <c>*.suffix</c>, or <c>*</c>. Default <c>*</c>.</summary>
    public string[]? Hosts { get; set; }
    /// <summary>Allowed ports; empty or unset = any.</summary>
    public int[]? Ports { get; set; }
    /// <summary>
    /// Where the resolved address may lie: CIDR blocks, single addresses, or the keywords <c>loopback</c>,
    /// <c>private</c> and <c>public</c>. Default: <c>loopback</c> for the standalone bridge, <c>public</c> when
    /// mounted in the server. An address of this machine's own interfaces needs a CIDR or the address itself.
    /// </summary>
    public string[]? Networks { get; set; }
}

/// <summary>Hard limits; every one bounds memory, time or the number of upstream connections.</summary>
public sealed class BridgeLimitSettings
{
    /// <summary>Concurrent upstream streams on one WebSocket (tagged ones plus the sequential one).</summary>
    public int MaxStreamsPerSocket { get; set; } = 8;
    /// <summary>Concurrent upstream streams on the whole bridge.</summary>
    public int MaxStreams { get; set; } = 512;
    /// <summary>Concurrent upstream streams of one client address, over all its sockets; 0 = no limit.</summary>
    public int MaxStreamsPerAddress { get; set; } = 64;
    /// <summary>Concurrent bridge sockets from one client address, idle or not; 0 = no limit.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 16;
    /// <summary>Requests without an id waiting behind the one that is streaming.</summary>
    public int MaxQueuedRequests { get; set; } = 16;
    /// <summary>Largest WebSocket message a client may send; a larger one closes the socket with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;
    /// <summary>Largest request body forwarded upstream.</summary>
    public int MaxBodyBytes { get; set; } = 64 * 1024;
    /// <summary>Largest SSE line, and largest event (all its lines), accepted from upstream.</summary>
    public int MaxEventBytes { get; set; } = 1024 * 1024;
    /// <summary>Milliseconds from starting an upstream request to its response headers (DNS, TCP, TLS included).</summary>
    public int ConnectTimeout { get; set; } = 10_000;
    /// <summary>Milliseconds one WebSocket send may take; a client that reads nothing for this long is disconnected.</summary>
    public int SendTimeout { get; set; } = 30_000;
    /// <summary>Redirects followed per upstream request, each target checked again.</summary>
    public int MaxRedirects { get; set; } = 5;
    /// <summary>WebSocket ping interval in milliseconds; 0 = none.</summary>
    public int KeepAlive { get; set; } = 30_000;
    /// <summary>Socket receive buffer of each upstream connection in bytes; 0 = the OS default (autotuned).</summary>
    public int UpstreamReceiveBuffer { get; set; } = 64 * 1024;
}

/// <summary>Reconnecting to the SSE server when its stream drops, as EventSource would.</summary>
public sealed class ResumeSettings
{
    /// <summary>Resume by default; a request's <c>"resume"</c> field overrides this per stream.</summary>
    public bool Enabled { get; set; }
    /// <summary>Reconnect attempts in a row without a new event before the stream fails.</summary>
    public int MaxAttempts { get; set; } = 5;
    /// <summary>Milliseconds to wait before reconnecting when the server never sent <c>retry:</c>.</summary>
    public int DefaultRetry { get; set; } = 3000;
    /// <summary>Upper bound on a server's <c>retry:</c>, so a huge value cannot park a stream forever.</summary>
    public int MaxRetry { get; set; } = 60_000;
    /// <summary>How many recent event ids are remembered to drop replayed duplicates after a reconnect.</summary>
    public int DedupWindow { get; set; } = 1024;
}

/// <summary>Seed 004's test SSE server (<c>herald testserver</c>).</summary>
public sealed class TestServerSettings
{
    public int Port { get; set; } = 8081;
    public string Host { get; set; } = "localhost";
    /// <summary>Events per request.</summary>
    public int ResponseCount { get; set; } = 3;
    /// <summary>Milliseconds between two events.</summary>
    public int ResponseDelay { get; set; } = 1000;
}

/// <summary>Seed 004's test WebSocket client (<c>herald testclient</c>).</summary>
public sealed class TestClientSettings
{
    public string Message { get; set; } = "Hello Server!";
    /// <summary>Requests sent, one after another.</summary>
    public int MaxMessages { get; set; } = 3;
    /// <summary>Milliseconds between one request's <c>closed</c> and the next request.</summary>
    public int SendDelay { get; set; } = 1000;
}
