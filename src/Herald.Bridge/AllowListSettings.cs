namespace Herald.Bridge;

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
