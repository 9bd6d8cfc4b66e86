using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Hub;
using Herald.Server.Operations;
using Herald.Server.Storage;
using Herald.Server.Transports;
using Herald.Server.Ui;
using Microsoft.Extensions.Options;

namespace Herald.Server;

/// <summary>Builds the Herald web application: services, configuration checks, endpoints.</summary>
public static class HeraldApp
{
    /// <summary>Where Herald listens when neither <c>--urls</c> nor <c>ASPNETCORE_URLS</c> says otherwise.</summary>
    public const string DefaultUrl = "http://localhost:8000";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        ApplyLoggingDefaults(builder);
        configure?.Invoke(builder);
        AddHerald(builder);
        var app = builder.Build();
        MapHerald(app);
        return app;
    }

    /// <summary>
    /// Quiet ASP.NET Core's request logging wherever Herald is hosted, not only where an appsettings.json says so: it
    /// would write every query string (<c>?token=</c>, <c>?site_token=</c>) to the log. A configured level wins.
    /// </summary>
    private static void ApplyLoggingDefaults(WebApplicationBuilder builder)
    {
        foreach (var (category, level) in new[] { ("Microsoft.AspNetCore", LogLevel.Warning), ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None) })
        {
            if (builder.Configuration[$"Logging:LogLevel:{category}"] is null)
            {
                builder.Logging.AddFilter(category, level);
            }
        }
    }

    private static void AddHerald(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection("Herald");
        services.Configure<HeraldOptions>(section);
        services.PostConfigure<HeraldOptions>(o => ApplySigningKeyPolicy(o, builder.Environment));

        var startup = section.Get<HeraldOptions>() ?? new HeraldOptions();
        AccessService.ValidateOptions(startup.Auth);
        WidgetCors.ParseOperatorOrigins(startup.Cors.OperatorOrigins);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = startup.Limits.MaxRequestBodyBytes;
            if (startup.Streams.HandOffConnections)
            {
                kestrel.ConfigureEndpointDefaults(Transports.Handoff.ConnectionHandoff.Install);
            }
        });

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<HeraldMetrics>();
        services.AddSingleton<SqlStore>(sp => CreateStore(sp.GetRequiredService<IOptions<HeraldOptions>>().Value.Storage, builder.Environment));
        services.AddSingleton<TopicRegistry>();
        services.AddSingleton<ConnectionTracker>();
        services.AddSingleton<EventDispatcher>();
        var redisUrl = section.GetSection("Redis")["Url"];
        if (string.IsNullOrWhiteSpace(redisUrl))
        {
            services.AddSingleton<IEventBus, InProcessBus>();
        }
        else
        {
            // Several nodes: Redis carries live events, the shared store fills whatever pub/sub loses.
            services.AddSingleton<RedisBus>();
            services.AddSingleton<IEventBus>(sp => sp.GetRequiredService<RedisBus>());
        }

        services.AddSingleton<EventWriter>();
        services.AddSingleton<EventHub>();
        services.AddSingleton<ReplayService>();
        services.AddSingleton<StreamHost>();
        services.AddSingleton<SseTransport>();
        services.AddSingleton<WebSocketTransport>();
        services.AddSingleton<LongPollTransport>();
        services.AddSingleton<RequestReader>();
        services.AddSingleton<RateLimits>();
        services.AddSingleton<IValidateOptions<HeraldOptions>, LimitsValidation>();
        services.AddOptions<HeraldOptions>().ValidateOnStart();
        services.AddSingleton<TokenService>();
        services.AddSingleton<OperatorPasswords>();
        services.AddSingleton<AccessCache>();
        services.AddSingleton<AccessService>();
        services.AddSingleton<WidgetTokenService>();
        services.AddSingleton<GrantWatcher>();

        // Order matters: startup (migrate, bootstrap, position the dispatcher) completes before anything else runs.
        services.AddHostedService<StartupTasks>();
        services.AddHostedService(sp => sp.GetRequiredService<EventWriter>());
        services.AddHostedService<HeartbeatService>();
        services.AddHostedService(sp => sp.GetRequiredService<GrantWatcher>());
        if (!string.IsNullOrWhiteSpace(redisUrl))
        {
            services.AddHostedService(sp => sp.GetRequiredService<RedisBus>());
            services.AddHostedService<StoreWatcher>();
        }

        services.AddHostedService<RetentionService>();
        // The widget, console and demo (Ui/); after the writer, because the demo seeder writes through it.
        services.AddHeraldUi(builder.Configuration, builder.Environment);
        services.AddOpenApi();
        builder.AddHeraldOperations();
    }

    private static void MapHerald(WebApplication app)
    {
        app.UseHeraldForwardedHeaders();
        app.UseExceptionHandler(errors => errors.Run(async context =>
        {
            // Never leak internals: a fixed message; the exception itself is logged by the middleware.
            if (!context.Response.HasStarted)
            {
                await new ApiError(StatusCodes.Status500InternalServerError, Protocol.ErrorCodes.InternalError, "The server failed to process the request.").ExecuteAsync(context);
            }
        }));
        app.UseStatusCodePages(async status =>
        {
            var context = status.HttpContext;
            if (context.Response.StatusCode == StatusCodes.Status404NotFound && !context.Response.HasStarted)
            {
                await ApiError.NotFound($"No endpoint at {context.Request.Method} {context.Request.Path}.").ExecuteAsync(context);
            }
            else if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
            {
                await new ApiError(405, "method_not_allowed", $"{context.Request.Method} is not allowed on {context.Request.Path}.").ExecuteAsync(context);
            }
        });

        // What people see: /herald.js, /widget.js, /console, /demo — embedded files, no build step (Ui/UiEndpoints.cs).
        // Only paths that name one of those files are served; everything else falls through to the API (and its JSON 404).
        app.UseHeraldUi();

        app.UseMiddleware<WidgetCors>();
        app.UseWebSockets();
        app.MapOpenApi();
        app.MapAuthEndpoints();
        app.MapWidgetEndpoints();
        app.MapChatEndpoints();
        app.MapHubEndpoints();
        app.MapHealthEndpoints();
        app.MapHeraldOperations();

        // Seed 004's WebSocket-to-SSE bridge at Herald:Bridge:Path (default /proxy), only when Herald:Bridge:Enabled=true.
        Bridge.GatewayBridgeAccess.MapBridgeIfEnabled(app);
    }

    private static SqlStore CreateStore(StorageOptions storage, IHostEnvironment environment) =>
        storage.Provider.ToLowerInvariant() switch
        {
            "sqlite" => new SqliteStore(Path.Combine(ResolveDataDirectory(storage.DataDirectory), "herald.db")),
            "postgres" or "postgresql" => new PostgresStore(storage.ConnectionString
                ?? throw new InvalidOperationException("Herald:Storage:Provider is 'postgres' but Herald:Storage:ConnectionString is not set.")),
            _ => throw new InvalidOperationException($"Herald:Storage:Provider '{storage.Provider}' is not known; use 'sqlite' or 'postgres'."),
        };

    /// <summary>Relative data directories are relative to the working directory, where an operator expects them.</summary>
    private static string ResolveDataDirectory(string directory) => Path.GetFullPath(directory, Environment.CurrentDirectory);

    private static void ApplySigningKeyPolicy(HeraldOptions options, IHostEnvironment environment)
    {
        var key = options.Auth.SigningKey;
        if (string.IsNullOrEmpty(key))
        {
            if (!environment.IsDevelopment())
            {
                throw new InvalidOperationException(
                    "Herald:Auth:SigningKey is not set. Set it (at least 32 characters, the same on every node), e.g. Herald__Auth__SigningKey=...");
            }

            options.Auth.SigningKey = TokenService.DevelopmentSigningKey;
        }
        else if (key == TokenService.DevelopmentSigningKey && !environment.IsDevelopment())
        {
            throw new InvalidOperationException("Herald:Auth:SigningKey is the public development default; set a secret of your own outside Development.");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(options.Auth.SigningKey!) < 32)
        {
            throw new InvalidOperationException("Herald:Auth:SigningKey must be at least 32 bytes long (HS256).");
        }
    }
}
