using Herald.Protocol;
using Herald.Protocol.Diagnostics;
using Microsoft.Net.Http.Headers;

namespace Herald.Bridge;

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
        endpoints.MapBridge(pattern, settings, BridgeMode.Standalone, new BridgeHostServices());

    /// <summary>
    /// Maps the bridge when <c>Herald:Bridge:Enabled</c> is true, with the settings of that section and the
    /// defaults of a public server (<see cref="BridgeMode.Mounted"/>).
    /// </summary>
    /// <param name="endpoints">The host's routes.</param>
    /// <param name="configuration">The host's configuration, holding the <c>Herald:Bridge</c> section.</param>
    /// <param name="authenticator">Checks the host's own credentials (operator tokens) when <c>AllowOperators</c> is true.</param>
    /// <param name="admission">The host's connection limit that bridge sockets count under.</param>
    /// <returns>Whether the bridge was mapped.</returns>
    /// <exception cref="BridgeSettingsException">The settings are invalid, or would open the bridge to anyone without <c>Herald:Bridge:AllowAnonymous</c>.</exception>
    public static bool MapBridgeIfEnabled(this IEndpointRouteBuilder endpoints, IConfiguration configuration, IBridgeAuthenticator? authenticator, IBridgeAdmission? admission)
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

        endpoints.MapBridge(settings.Path, settings, BridgeMode.Mounted, new BridgeHostServices(authenticator, admission));
        return true;
    }

    internal static IEndpointConventionBuilder MapBridge(this IEndpointRouteBuilder endpoints, string pattern, ProxySettings settings, BridgeMode mode, BridgeHostServices host)
    {
        var policy = BridgePolicy.Compile(settings, mode);
        var services = endpoints.ServiceProvider;
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Herald.Bridge");
        var service = new BridgeService(policy, logger, lifetime.ApplicationStopping, host.Resolver);
        lifetime.ApplicationStopped.Register(service.Dispose);
        BridgeLog.Mapped(logger, pattern, string.Join(", ", policy.Networks), policy.DescribeAuthentication());

        // The WebSocket middleware runs inside this endpoint only, so mounting the bridge changes nothing for the
        // rest of the app's pipeline.
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets();
        pipeline.Run(context => HandleAsync(context, service, host));
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("Herald bridge (WebSocket to SSE)");
    }

    private static async Task HandleAsync(HttpContext context, BridgeService service, BridgeHostServices host)
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
            await new BridgeRefusal(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                "This page's origin may not open the bridge (proxy.allowedOrigins).", "proxy.allowedOrigins").WriteAsync(context);
            return;
        }

        var (admitted, expiresAt) = await AuthenticateAsync(context, policy, host.Authenticator);
        if (!admitted)
        {
            BridgeLog.Unauthorized(service.Logger, client);
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"herald-bridge\"";
            await new BridgeRefusal(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, policy.Mode == BridgeMode.Mounted && policy.Settings.AllowOperators
                ? "Send the bridge token or an operator token: 'Authorization: Bearer <token>' or '?token=<token>'."
                : "Send the bridge token: 'Authorization: Bearer <token>' or '?token=<token>'.", "proxy.token").WriteAsync(context);
            return;
        }

        // The client's IP without the port, as the gateway keys its per-IP limits.
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (!service.ConnectionsPerAddress.TryAcquire(address))
        {
            BridgeLog.TooManyConnections(service.Logger, client, "proxy.limits.maxConnectionsPerAddress");
            await new BridgeRefusal(StatusCodes.Status503ServiceUnavailable, ErrorCodes.TooManyConnections,
                $"Too many bridge connections from your address (proxy.limits.maxConnectionsPerAddress: {policy.Limits.MaxConnectionsPerAddress}); close one first.",
                "proxy.limits.maxConnectionsPerAddress")
            { RetryAfterSeconds = RetryAfterSeconds }.WriteAsync(context);
            return;
        }

        try
        {
            if (host.Admission?.TryReserve(address) is { } refusal)
            {
                BridgeLog.TooManyConnections(service.Logger, client, refusal.Setting);
                await refusal.WriteAsync(context);
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
                host.Admission?.Release(address);
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
    /// The bridge token, or (mounted, <c>AllowOperators</c>) a credential of the host's, checked by its
    /// <see cref="IBridgeAuthenticator"/>. Returns when that credential expires, so the socket ends with it.
    /// </summary>
    private static async Task<(bool Admitted, DateTimeOffset? ExpiresAt)> AuthenticateAsync(HttpContext context, BridgePolicy policy, IBridgeAuthenticator? authenticator)
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

        if (authenticator is not null && policy.Mode == BridgeMode.Mounted && policy.Settings.AllowOperators)
        {
            var credential = await authenticator.AuthenticateAsync(context);
            return (credential is not null, credential?.ExpiresAt);
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
