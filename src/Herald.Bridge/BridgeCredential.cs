namespace Herald.Bridge;

/// <summary>A credential an <see cref="IBridgeAuthenticator"/> accepted.</summary>
/// <param name="ExpiresAt">When it stops being valid; the socket it admitted is closed then (4010). Null: never.</param>
public sealed record BridgeCredential(DateTimeOffset? ExpiresAt);
