namespace Herald.Bridge;

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
