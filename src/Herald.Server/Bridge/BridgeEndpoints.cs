using System.Net.WebSockets;
using Herald.Protocol.Diagnostics;
using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Diagnostics;
using Herald.Server.Hub;
using Microsoft.Net.Http.Headers;

namespace Herald.Server.Bridge;

/// <summary>Maps the seed-004 WebSocket-to-SSE bridge onto an ASP.NET Core app.</summary>
public static class BridgeEndpoints
{
    /// <summary>The configuration section of the bridge when it is mounted in the main server.</summary>
    public const string ConfigurationSection = "Herald:Bridge";

    /// <summary>
    /// Maps the bridge's WebSocket endpoint at <paramref name="pattern"/> (the seed uses <c>/proxy</c>). Used by
    /// <c>herald bridge</c> and, when <c>Herald:Bridge:Enabled</c> is true, by the main server.
    /// </summary>
    /// <exception cref="BridgeSettingsException">The settings are invalid.</exception>
    public static IEndpointConventionBuilder MapBridge(this IEndpointRouteBuilder endpoints, string pattern, ProxySettings settings) =>
        endpoints.MapBridge(pattern, settings, BridgeMode.Standalone, resolver: null);

    /// <summary>
    /// Maps the bridge when <c>Herald:Bridge:Enabled</c> is true, with the settings of that section and the
    /// defaults of a public server (<see cref="BridgeMode.Mounted"/>).
    /// </summary>
    /// <returns>Whether the bridge was mapped.</returns>
    /// <exception cref="BridgeSettingsException">The settings are invalid, or would open the bridge to anyone without <c>Herald:Bridge:AllowAnonymous</c>.</exception>
    public static bool MapBridgeIfEnabled(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        var section = configuration.GetSection(ConfigurationSection);
        if (!section.GetValue<bool>("Enabled"))
        {
            return false;
        }

        var settings = section.Get<ProxySettings>() ?? new ProxySettings();
        var token = Environment.GetEnvironmentVariable(BridgeSettingsLoader.TokenVariable);
        if (!string.IsNullOrEmpty(token))
        {
            settings.Token = token;
        }

        endpoints.MapBridge(settings.Path, settings, BridgeMode.Mounted, resolver: null);
        return true;
    }

    internal static IEndpointConventionBuilder MapBridge(this IEndpointRouteBuilder endpoints, string pattern, ProxySettings settings, BridgeMode mode, HostResolver? resolver)
    {
        var policy = BridgePolicy.Compile(settings, mode);
        var services = endpoints.ServiceProvider;
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Herald.Bridge");
        var service = new BridgeService(policy, logger, lifetime.ApplicationStopping, resolver);
        lifetime.ApplicationStopped.Register(service.Dispose);
        BridgeLog.Mapped(logger, pattern, string.Join(", ", policy.Networks), policy.DescribeAuthentication());

        // The WebSocket middleware runs inside this endpoint only, so mounting the bridge changes nothing for the
        // rest of the app's pipeline.
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets();
        // Mounted, operators are checked by the server's AccessService and sockets count under its per-IP
        // connection limit; the standalone bridge has neither service.
        var access = mode == BridgeMode.Mounted ? services.GetService<AccessService>() : null;
        var tracker = mode == BridgeMode.Mounted ? services.GetService<ConnectionTracker>() : null;
        pipeline.Run(context => HandleAsync(context, service, access, tracker));
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("Herald bridge (WebSocket to SSE)");
    }

    private static async Task HandleAsync(HttpContext context, BridgeService service, AccessService? access, ConnectionTracker? tracker)
    {
        var client = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("This is the Herald bridge: open a WebSocket here and send seed-004 requests as JSON text.\n");
            return;
        }

        // Every refusal happens before the upgrade, so a refused client never holds a socket.
        var policy = service.Policy;
        if (!policy.IsOriginAllowed(context.Request))
        {
            BridgeLog.OriginRefused(service.Logger, client, LogValue.Sanitize(context.Request.Headers.Origin.ToString()));
            await ApiError.Forbidden("This page's origin may not open the bridge (proxy.allowedOrigins).").ExecuteAsync(context);
            return;
        }

        var (admitted, expiresAt) = await AuthenticateAsync(context, policy, access);
        if (!admitted)
        {
            BridgeLog.Unauthorized(service.Logger, client);
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"herald-bridge\"";
            await ApiError.Unauthorized(policy.Mode == BridgeMode.Mounted && policy.Settings.AllowOperators
                ? "Send the bridge token or an operator token: 'Authorization: Bearer <token>' or '?token=<token>'."
                : "Send the bridge token: 'Authorization: Bearer <token>' or '?token=<token>'.").ExecuteAsync(context);
            return;
        }

        var address = RateLimits.ClientKey(context);
        if (!service.ConnectionsPerAddress.TryAcquire(address))
        {
            BridgeLog.TooManyConnections(service.Logger, client, "proxy.limits.maxConnectionsPerAddress");
            await new ApiError(StatusCodes.Status503ServiceUnavailable, Protocol.ErrorCodes.TooManyConnections,
                $"Too many bridge connections from your address (proxy.limits.maxConnectionsPerAddress: {policy.Limits.MaxConnectionsPerAddress}); close one first.")
            { RetryAfterSeconds = RetryAfterSeconds }.ExecuteAsync(context);
            return;
        }

        try
        {
            if (tracker is not null && !tracker.TryReserve(address))
            {
                BridgeLog.TooManyConnections(service.Logger, client, "Herald:Limits:MaxConnectionsPerIp");
                await ApiError.TooManyConnections(RetryAfterSeconds).ExecuteAsync(context);
                return;
            }

            try
            {
                var limits = policy.Limits;
                using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
                {
                    KeepAliveInterval = limits.KeepAlive > 0 ? TimeSpan.FromMilliseconds(limits.KeepAlive) : TimeSpan.Zero,
                    // Relayed events are small text and each is sent once; compression would cost CPU per socket for little.
                    DangerousEnableCompression = false,
                });
                using var session = new BridgeSession(socket, service, client, address, expiresAt);
                await session.RunAsync(context.RequestAborted);
            }
            finally
            {
                tracker?.Release(address);
            }
        }
        finally
        {
            service.ConnectionsPerAddress.Release(address);
        }
    }

    // Seconds a client refused by a connection limit should wait; a socket frees its slot only when it closes.
    private const int RetryAfterSeconds = 5;

    /// <summary>
    /// The bridge token, or (mounted, <c>AllowOperators</c>) an operator JWT checked by the server's own
    /// <see cref="AccessService"/>. Returns when an operator's token expires, so the socket ends with it.
    /// </summary>
    private static async Task<(bool Admitted, DateTimeOffset? ExpiresAt)> AuthenticateAsync(HttpContext context, BridgePolicy policy, AccessService? access)
    {
        if (!policy.RequiresCredential)
        {
            return (true, null);
        }

        var presented = PresentedToken(context.Request);
        if (presented is null)
        {
            return (false, null);
        }

        if (policy.RequiresToken && policy.IsTokenValid(presented))
        {
            return (true, null);
        }

        if (access is not null && policy.Settings.AllowOperators)
        {
            var (principal, _) = await access.AuthenticateOperatorAsync(context);
            return (principal is not null, principal?.ExpiresAt);
        }

        return (false, null);
    }

    /// <summary><c>Authorization: Bearer T</c>, or <c>?token=T</c> for browsers, which cannot set headers on a WebSocket.</summary>
    private static string? PresentedToken(HttpRequest request)
    {
        var authorization = request.Headers[HeaderNames.Authorization].ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var query = request.Query["token"].ToString();
        return query.Length > 0 ? query : null;
    }
}
