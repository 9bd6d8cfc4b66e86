namespace Herald.Bridge;

/// <summary>What the host of one bridge supplies: none of it when the bridge runs alone.</summary>
/// <param name="Authenticator">The host's own credentials (mounted: operator tokens).</param>
/// <param name="Admission">The host's connection limit (mounted: the gateway's global and per-IP limits).</param>
/// <param name="Resolver">Name resolution for upstream hosts; tests replace DNS with it.</param>
internal sealed record BridgeHostServices(IBridgeAuthenticator? Authenticator = null, IBridgeAdmission? Admission = null, HostResolver? Resolver = null);
