namespace Herald.Bridge;

/// <summary>
/// A credential the host accepts besides the bridge token (the gateway: an operator token, when
/// <c>Herald:Bridge:AllowOperators</c> is true). The standalone bridge has none: only its token admits.
/// </summary>
public interface IBridgeAuthenticator
{
    /// <summary>Checks the credential the upgrade request carries.</summary>
    /// <returns>The accepted credential, or <see langword="null"/> when the request carries none the host accepts.</returns>
    Task<BridgeCredential?> AuthenticateAsync(HttpContext context);
}
