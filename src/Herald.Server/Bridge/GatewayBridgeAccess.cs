using Herald.Bridge;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Hub;

namespace Herald.Server.Bridge;

/// <summary>
/// What the gateway lends the bridge it mounts (Herald.Bridge does not reference the gateway): operator tokens
/// checked by <see cref="AccessService"/>, and bridge sockets counted under the <see cref="ConnectionTracker"/>'s
/// global and per-IP limits.
/// </summary>
internal sealed class GatewayBridgeAccess(AccessService access, ConnectionTracker tracker) : IBridgeAuthenticator, IBridgeAdmission
{
    // Seconds a client refused by the connection limit should wait; a socket frees its slot only when it closes.
    private const int RetryAfterSeconds = 5;

    /// <summary>Maps the bridge when <c>Herald:Bridge:Enabled</c> is true (seed 004, docs/bridge.md).</summary>
    /// <exception cref="BridgeSettingsException">The <c>Herald:Bridge</c> settings are invalid.</exception>
    public static bool MapBridgeIfEnabled(WebApplication app)
    {
        var gateway = new GatewayBridgeAccess(app.Services.GetRequiredService<AccessService>(), app.Services.GetRequiredService<ConnectionTracker>());
        return app.MapBridgeIfEnabled(app.Configuration, gateway, gateway);
    }

    public async Task<BridgeCredential?> AuthenticateAsync(HttpContext context)
    {
        var (principal, _) = await access.AuthenticateOperatorAsync(context);
        return principal is null ? null : new BridgeCredential(principal.ExpiresAt);
    }

    public BridgeRefusal? TryReserve(string address)
    {
        if (tracker.TryReserve(address))
        {
            return null;
        }

        var error = ApiError.TooManyConnections(RetryAfterSeconds);
        return new BridgeRefusal(error.Status, error.Code, error.Detail, "Herald:Limits:MaxConnectionsPerIp") { RetryAfterSeconds = error.RetryAfterSeconds };
    }

    public void Release(string address) => tracker.Release(address);
}
