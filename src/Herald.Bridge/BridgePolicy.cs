using System.Net;
using System.Security.Cryptography;
using System.Text;
using Herald.Protocol.Web;

namespace Herald.Bridge;

/// <summary>
/// <see cref="ProxySettings"/> validated and compiled: the allow-list, header rules, limits and token in the
/// form the request path uses. Built once per bridge; immutable.
/// </summary>
public sealed class BridgePolicy
{
    private static readonly string[] DefaultSchemes = ["http", "https"];
    private static readonly string[] DefaultHosts = ["*"];
    private static readonly string[] StandaloneNetworks = ["loopback"];
    // A bridge in a public server must not become a way into the server's own network or its loopback services.
    private static readonly string[] MountedNetworks = ["public"];
    private static readonly string[] DefaultForwardHeaders =
        ["Accept", "Accept-Language", "Authorization", "Cache-Control", "Content-Type", "Last-Event-ID", "User-Agent"];

    // Never forwarded whatever the allow-list says: they describe the bridge's own connection, not the client's
    // request, and letting a client set them would allow request smuggling or host confusion.
    private static readonly HashSet<string> HopByHopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer", "Transfer-Encoding", "Content-Length",
        "Expect", "Proxy-Authorization", "Proxy-Authenticate", "Proxy-Connection",
    };

    private readonly HashSet<string> _schemes;
    private readonly string[] _hosts;
    private readonly HashSet<int> _ports;
    private readonly List<IPNetwork> _networks = [];
    private readonly HashSet<AddressKind> _kinds = [];
    private readonly string[] _forwardHeaders;
    private readonly byte[]? _tokenHash;
    private readonly bool _anyOrigin;
    private readonly IReadOnlyList<string> _originPatterns;

    private BridgePolicy(ProxySettings settings, BridgeMode mode)
    {
        Settings = settings;
        Mode = mode;
        Networks = settings.Allow.Networks ?? (mode == BridgeMode.Mounted ? MountedNetworks : StandaloneNetworks);
        _schemes = new HashSet<string>(settings.Allow.Schemes ?? DefaultSchemes, StringComparer.OrdinalIgnoreCase);
        foreach (var scheme in _schemes)
        {
            Require(scheme is "http" or "https", $"proxy.allow.schemes: '{scheme}' is not supported; use http and/or https.");
        }

        _hosts = [.. (settings.Allow.Hosts ?? DefaultHosts).Select(NormalizeHost)];
        _ports = [.. settings.Allow.Ports ?? []];
        foreach (var port in _ports)
        {
            Require(port is >= 1 and <= 65535, $"proxy.allow.ports: {port} is not a port.");
        }

        foreach (var entry in Networks)
        {
            switch (entry.Trim().ToLowerInvariant())
            {
                case "loopback":
                    _kinds.Add(AddressKind.Loopback);
                    break;
                case "private":
                    _kinds.Add(AddressKind.Private);
                    break;
                case "public":
                    _kinds.Add(AddressKind.Public);
                    break;
                default:
                    var text = entry.Contains('/', StringComparison.Ordinal) ? entry : SingleAddressNetwork(entry);
                    Require(IPNetwork.TryParse(text, out var network),
                        $"proxy.allow.networks: '{entry}' is not a CIDR block (10.0.0.0/8), an address, or loopback/private/public.");
                    // IPNetwork clears host bits silently; "10.0.0.1/8" is more likely a typo than a wish for all of 10/8.
                    Require(IPAddress.Parse(text[..text.IndexOf('/', StringComparison.Ordinal)]).Equals(network.BaseAddress),
                        $"proxy.allow.networks: '{entry}' has bits set after the prefix; write {network} or a single address.");
                    _networks.Add(network);
                    break;
            }
        }

        _forwardHeaders = settings.ForwardHeaders ?? DefaultForwardHeaders;
        var limits = settings.Limits;
        Require(settings.SseTimeout >= 0, "proxy.sseTimeout must not be negative (0 = no timeout).");
        Require(settings.Path.StartsWith('/'), "proxy.path must start with '/'.");
        Require(settings.Port is >= 0 and <= 65535, "proxy.port must be 0-65535.");
        Require(limits.MaxStreamsPerSocket >= 1, "proxy.limits.maxStreamsPerSocket must be at least 1.");
        Require(limits.MaxStreams >= 1, "proxy.limits.maxStreams must be at least 1.");
        Require(limits.MaxStreamsPerAddress >= 0, "proxy.limits.maxStreamsPerAddress must not be negative (0 = no limit).");
        Require(limits.MaxConnectionsPerAddress >= 0, "proxy.limits.maxConnectionsPerAddress must not be negative (0 = no limit).");
        Require(limits.MaxQueuedRequests >= 0, "proxy.limits.maxQueuedRequests must not be negative.");
        Require(limits.MaxMessageBytes >= 1024, "proxy.limits.maxMessageBytes must be at least 1024.");
        Require(limits.MaxBodyBytes >= 0, "proxy.limits.maxBodyBytes must not be negative.");
        Require(limits.MaxEventBytes >= 1024, "proxy.limits.maxEventBytes must be at least 1024.");
        Require(limits.ConnectTimeout >= 1, "proxy.limits.connectTimeout must be at least 1 ms.");
        Require(limits.SendTimeout >= 1, "proxy.limits.sendTimeout must be at least 1 ms.");
        Require(limits.MaxRedirects >= 0, "proxy.limits.maxRedirects must not be negative.");
        Require(limits.UpstreamReceiveBuffer >= 0, "proxy.limits.upstreamReceiveBuffer must not be negative (0 = OS default).");
        Require(limits.KeepAlive >= 0, "proxy.limits.keepAlive must not be negative (0 = no pings).");
        Require(settings.Resume.MaxAttempts >= 1, "proxy.resume.maxAttempts must be at least 1.");
        Require(settings.Resume.DefaultRetry >= 0, "proxy.resume.defaultRetry must not be negative.");
        Require(settings.Resume.MaxRetry >= settings.Resume.DefaultRetry, "proxy.resume.maxRetry must be at least proxy.resume.defaultRetry.");
        Require(settings.Resume.DedupWindow >= 0, "proxy.resume.dedupWindow must not be negative.");

        if (!string.IsNullOrEmpty(settings.Token))
        {
            _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(settings.Token));
        }

        var origins = settings.AllowedOrigins ?? [];
        _anyOrigin = origins.Contains("*");
        // Herald's own domain patterns and their validation (Herald.Protocol.Web.DomainRules), not a second syntax; the scheme of
        // an entry written as a URL is dropped, as those rules compare host and port only.
        var (patterns, error) = DomainRules.Normalize(origins.Where(o => o != "*").Select(o => o.Contains("://", StringComparison.Ordinal) ? o[(o.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/') : o));
        Require(error is null, $"proxy.allowedOrigins: {error}");
        _originPatterns = patterns!;
        RequireAuthentication(settings, mode);
    }

    /// <summary>Standalone or mounted.</summary>
    public BridgeMode Mode { get; }

    /// <summary>The <c>allow.networks</c> in force: the configured list, or the mode's default.</summary>
    public IReadOnlyList<string> Networks { get; }

    /// <summary>
    /// Whether a client must present a credential (the token, or when mounted an operator JWT). The standalone
    /// bridge without a token is open: it is only allowed to start so when it listens on loopback.
    /// </summary>
    public bool RequiresCredential => Mode == BridgeMode.Mounted ? !Settings.AllowAnonymous : RequiresToken;

    /// <summary>For the startup log: which credentials admit a client.</summary>
    public string DescribeAuthentication() =>
        !RequiresCredential ? "none (anyone may connect)"
        : Mode == BridgeMode.Mounted && Settings.AllowOperators ? RequiresToken ? "bridge token or operator token" : "operator token"
        : "bridge token";

    /// <summary>The settings this policy was compiled from.</summary>
    public ProxySettings Settings { get; }

    public BridgeLimitSettings Limits => Settings.Limits;

    public ResumeSettings Resume => Settings.Resume;

    /// <summary>Whether clients must present a token.</summary>
    public bool RequiresToken => _tokenHash is not null;

    /// <summary>Idle timeout of an upstream read, or <see cref="Timeout.InfiniteTimeSpan"/> for <c>sseTimeout: 0</c>.</summary>
    public TimeSpan IdleTimeout => Settings.SseTimeout > 0 ? TimeSpan.FromMilliseconds(Settings.SseTimeout) : Timeout.InfiniteTimeSpan;

    /// <exception cref="BridgeSettingsException">A setting is out of range or malformed, or the bridge would start open to everyone without saying so.</exception>
    public static BridgePolicy Compile(ProxySettings settings, BridgeMode mode = BridgeMode.Standalone) => new(settings, mode);

    /// <summary>
    /// A bridge that anyone can reach and use fetches URLs for anyone; that must be a decision written in the
    /// settings, never the result of leaving a setting out.
    /// </summary>
    private static void RequireAuthentication(ProxySettings settings, BridgeMode mode)
    {
        var hasToken = !string.IsNullOrEmpty(settings.Token);
        if (settings.AllowAnonymous)
        {
            Require(!hasToken, mode == BridgeMode.Mounted
                ? "Herald:Bridge:AllowAnonymous=true and Herald:Bridge:Token are both set; choose one."
                : "proxy.allowAnonymous is true and proxy.token is set; choose one.");
            return;
        }

        if (mode == BridgeMode.Mounted)
        {
            Require(hasToken || settings.AllowOperators,
                "Herald:Bridge is enabled with no authentication (Herald:Bridge:AllowOperators=false, no Herald:Bridge:Token or HERALD_BRIDGE_TOKEN); " +
                "set a token, or Herald:Bridge:AllowAnonymous=true to let anyone use it.");
        }
        else
        {
            Require(hasToken || IsLoopbackHost(settings.Host),
                $"proxy.host '{settings.Host}' accepts connections from other machines and proxy.token is not set; " +
                "set proxy.token (or HERALD_BRIDGE_TOKEN), listen on localhost, or set proxy.allowAnonymous: true to let anyone use it.");
        }
    }

    private static bool IsLoopbackHost(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    internal static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new BridgeSettingsException(message);
        }
    }

    /// <summary>
    /// Compares a presented token with the configured one in constant time. Both sides are hashed first so
    /// neither the content nor the length of the secret leaks through timing.
    /// </summary>
    public bool IsTokenValid(string? presented)
    {
        if (_tokenHash is null)
        {
            return true;
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenHash);
    }

    /// <summary>Checks scheme, host name and port of a target before anything is resolved or sent.</summary>
    /// <returns>Why the target is refused, or <see langword="null"/>.</returns>
    public string? CheckTarget(Uri uri)
    {
        if (!_schemes.Contains(uri.Scheme))
        {
            return $"Target refused: scheme '{uri.Scheme}' is not allowed (proxy.allow.schemes: {string.Join(", ", _schemes)}).";
        }

        if (_ports.Count > 0 && !_ports.Contains(uri.Port))
        {
            return $"Target refused: port {uri.Port} is not allowed (proxy.allow.ports).";
        }

        var host = NormalizeHost(uri.Host);
        foreach (var pattern in _hosts)
        {
            if (pattern == "*"
                || pattern == host
                || (pattern.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(pattern[1..], StringComparison.Ordinal)))
            {
                return null;
            }
        }

        return $"Target refused: host '{host}' is not allowed (proxy.allow.hosts).";
    }

    /// <summary>
    /// Checks one resolved address. Metadata addresses pass only when listed exactly; other special kinds only
    /// when a listed CIDR block contains them; loopback, private and public addresses also by keyword.
    /// </summary>
    /// <returns>Why the address is refused, or <see langword="null"/>.</returns>
    public string? CheckAddress(IPAddress address, string host)
    {
        var normalized = AddressClassifier.Normalize(address);
        var kind = AddressClassifier.Classify(normalized);
        foreach (var network in _networks)
        {
            if (!network.Contains(normalized) && !network.Contains(address))
            {
                continue;
            }

            var exact = network.PrefixLength == (network.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            if (kind != AddressKind.Metadata || exact)
            {
                return null;
            }
        }

        var origin = IPAddress.TryParse(host.Trim('[', ']'), out _) ? "" : $" (resolved from '{host}')";
        // The machine's own addresses reach its own services (Herald's /metrics, an admin port) as loopback does,
        // but look public or private; a keyword never covers them, only a listed block does.
        if (kind != AddressKind.Loopback && AddressClassifier.IsLocalInterfaceAddress(normalized))
        {
            return $"Target refused: {address}{origin} is an address of this server; list it in proxy.allow.networks to allow it.";
        }

        if (_kinds.Contains(kind))
        {
            return null;
        }

        var hint = kind == AddressKind.Metadata ? "list the exact address in proxy.allow.networks" : "add it to proxy.allow.networks";
        return $"Target refused: {address}{origin} is {AddressClassifier.Describe(kind)}; {hint} to allow it.";
    }

    /// <summary>
    /// Whether a WebSocket upgrade with this request's <c>Origin</c> may proceed. Without the check, any web page a
    /// user visits could open the bridge from the user's browser and reach what the bridge can reach. A request
    /// without <c>Origin</c> is not from a browser page, and its credential alone decides.
    /// </summary>
    public bool IsOriginAllowed(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count == 0 || _anyOrigin)
        {
            return true;
        }

        // Only a strict http(s) origin names a site that could be allowed: "null" (sandboxed frames, file: pages),
        // extension origins and garbage never do (Herald's one Origin parser, Herald.Protocol.Web.WebOrigin).
        var domain = origin.Count == 1 ? WebOrigin.TryParse(origin.ToString())?.Domain : null;
        return domain is not null
            && (string.Equals(request.Host.Value, domain, StringComparison.OrdinalIgnoreCase)
                || DomainRules.Matches(domain, _originPatterns, allowLocalhost: Mode == BridgeMode.Standalone));
    }

    /// <summary>Whether a client-supplied request header may be forwarded upstream.</summary>
    public bool IsHeaderForwarded(string name)
    {
        if (HopByHopHeaders.Contains(name) || name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var rule in _forwardHeaders)
        {
            if (rule == "*"
                || string.Equals(rule, name, StringComparison.OrdinalIgnoreCase)
                || (rule.EndsWith('*') && name.StartsWith(rule[..^1], StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    private static string NormalizeHost(string host) => host.Trim().Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    private static string SingleAddressNetwork(string entry)
    {
        var text = entry.Trim().Trim('[', ']');
        return IPAddress.TryParse(text, out var address)
            ? $"{address}/{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)}"
            : entry;
    }
}
