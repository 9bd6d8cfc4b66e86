using System.Net.WebSockets;
using Herald.Server.Diagnostics;
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
        endpoints.MapBridge(pattern, settings, resolver: null);

    /// <summary>Maps the bridge when <c>Herald:Bridge:Enabled</c> is true, with the settings of that section.</summary>
    /// <returns>Whether the bridge was mapped.</returns>
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

        endpoints.MapBridge(settings.Path, settings);
        return true;
    }

    internal static IEndpointConventionBuilder MapBridge(this IEndpointRouteBuilder endpoints, string pattern, ProxySettings settings, HostResolver? resolver)
    {
        var policy = BridgePolicy.Compile(settings);
        var services = endpoints.ServiceProvider;
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Herald.Bridge");
        var service = new BridgeService(policy, logger, lifetime.ApplicationStopping, resolver);
        lifetime.ApplicationStopped.Register(service.Dispose);
        BridgeLog.Mapped(logger, pattern, string.Join(", ", settings.Allow.Networks ?? ["loopback"]), policy.RequiresToken ? "required" : "not required");

        // The WebSocket middleware runs inside this endpoint only, so mounting the bridge changes nothing for the
        // rest of the app's pipeline.
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets();
        pipeline.Run(context => HandleAsync(context, service));
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("Herald bridge (WebSocket to SSE)");
    }

    private static async Task HandleAsync(HttpContext context, BridgeService service)
    {
        var client = $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("This is the Herald bridge: open a WebSocket here and send seed-004 requests as JSON text.\n");
            return;
        }

        if (!service.Policy.IsOriginAllowed(context.Request.Headers.Origin))
        {
            BridgeLog.OriginRefused(service.Logger, client, LogValue.Sanitize(context.Request.Headers.Origin.ToString()));
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        // Checked before the upgrade, so an unauthenticated client never holds a socket; it gets HTTP 401.
        if (service.Policy.RequiresToken && !service.Policy.IsTokenValid(PresentedToken(context.Request)))
        {
            BridgeLog.Unauthorized(service.Logger, client);
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"herald-bridge\"";
            return;
        }

        var limits = service.Policy.Limits;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = limits.KeepAlive > 0 ? TimeSpan.FromMilliseconds(limits.KeepAlive) : TimeSpan.Zero,
            // Relayed events are small text and each is sent once; compression would cost CPU per socket for little.
            DangerousEnableCompression = false,
        });
        using var session = new BridgeSession(socket, service, client);
        await session.RunAsync(context.RequestAborted);
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
