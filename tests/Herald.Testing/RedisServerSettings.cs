namespace Herald.Testing;

/// <summary>How a <see cref="RedisServerFixture"/> configures its redis-server.</summary>
public sealed class RedisServerSettings
{
    /// <summary>The password of the default user (<c>--requirepass</c>), or null for none.</summary>
    public string? Password { get; init; }

    /// <summary>ACL users to create, each allowed every command, key and channel.</summary>
    public IReadOnlyList<(string Name, string Password)> Users { get; init; } = [];

    /// <summary>More redis-server arguments, e.g. <c>["--maxclients", "10"]</c>.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// A PEM certificate file: when set (with <see cref="TlsKeyFile"/>), the server accepts only TLS connections, on
    /// <see cref="RedisServerFixture.Port"/>, and does not ask clients for certificates.
    /// </summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>
    /// When set, the server runs as a Sentinel (<c>redis-server sentinel.conf --sentinel</c>) with this configuration,
    /// written to its directory before the first start (Sentinel rewrites the file as it learns the topology).
    /// </summary>
    public string? SentinelConfiguration { get; init; }

    /// <summary>Where redis-server is; null looks at the REDIS_SERVER variable, then the PATH.</summary>
    public string? ExecutablePath { get; init; }

    /// <summary>How long to wait for the server to answer PING after it is started.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
