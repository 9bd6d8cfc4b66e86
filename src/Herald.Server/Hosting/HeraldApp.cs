using Herald.Server.Api;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Hub;
using Herald.Server.Operations;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Topics;
using Herald.Server.Transports;
using Herald.Server.Ui;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hosting;

/// <summary>Builds the Herald web application: services, configuration checks, endpoints.</summary>
public static class HeraldApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The content root is the directory the command was run from, however Herald was started (dotnet run, the
        // installed tool, the single-file build): every relative path an operator gives (Herald:Storage:DataDirectory, a
        // Kestrel certificate file, an appsettings.json of their own) means what it says in their shell. What ships with
        // Herald is found where it is installed: its appsettings.json (AddInstalledSettings) and the web root.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [ReadSettingsOnce, .. args],
            ContentRootPath = Environment.CurrentDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        AddInstalledSettings(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(HeraldOptions.DefaultUrl);
        }

        ApplyLoggingDefaults(builder);
        configure?.Invoke(builder);
        AddHerald(builder);
        var app = builder.Build();
        // Settings are checked here, before anything runs: a wrong one throws OptionsValidationException naming it.
        _ = app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        MapHerald(app);
        return app;
    }

    // Settings files are read once. Nothing in Herald reloads settings (everything reads IOptions, checked at start),
    // and the reload watcher watches the whole content root, which is the working directory — where the data directory
    // usually is: every write of the database and its WAL woke it (a FileInfo and a stat per change), 6.9 KB and about
    // half the CPU of a chat message (issue 22, docs/benchmarks.md). First, so that the command line can still say otherwise.
    internal const string ReadSettingsOnce = "--hostBuilder:reloadConfigOnChange=false";

    /// <summary>
    /// The appsettings.json (and appsettings.{Environment}.json) installed next to the program, read before those of the
    /// working directory, which override them, and before the environment and the command line, which override both.
    /// </summary>
    private static void AddInstalledSettings(WebApplicationBuilder builder)
    {
        var installed = AppContext.BaseDirectory;
        if (Path.GetFullPath(installed).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(builder.Environment.ContentRootPath).TrimEnd(Path.DirectorySeparatorChar))
        {
            return;
        }

        var sources = builder.Configuration.Sources;
        var first = sources.Select((source, index) => (source, index)).FirstOrDefault(s => s.source is JsonConfigurationSource).index;
        var files = new PhysicalFileProvider(installed);
        string[] names = ["appsettings.json", $"appsettings.{builder.Environment.EnvironmentName}.json"];
        foreach (var name in names.Reverse())
        {
            sources.Insert(first, new JsonConfigurationSource { FileProvider = files, Path = name, Optional = true, ReloadOnChange = false });
        }
    }

    /// <summary>
    /// The configured store alone, for commands that manage data without serving (<c>herald users</c>): the same
    /// configuration sources as <see cref="Build"/> (appsettings, environment, <c>--Herald:...</c> in
    /// <paramref name="args"/>) and the same storage checks, and nothing else a node needs, such as a signing key.
    /// Throws <see cref="OptionsValidationException"/> for a wrong storage setting, <see cref="HeraldStartupException"/>
    /// for a data directory that cannot be used.
    /// </summary>
    public static SqlStore OpenStore(string[] args)
    {
        // The same roots as Build: a relative data directory is the one `herald serve` in this directory uses.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [ReadSettingsOnce, .. args], ContentRootPath = Environment.CurrentDirectory });
        AddInstalledSettings(builder);
        var section = builder.Configuration.GetSection("Herald:Storage");
        var storage = new StorageOptions();
        var failures = SettingFormats.Check(section, typeof(StorageOptions));
        if (failures.Count == 0)
        {
            section.Bind(storage);
            HeraldOptionsValidator.ValidateStorage(failures, storage);
        }

        return failures.Count > 0
            ? throw new OptionsValidationException(Options.DefaultName, typeof(StorageOptions), failures)
            : CreateStore(storage);
    }

    /// <summary>
    /// Creates or migrates the schema: the first use of the store, where a database that cannot be opened or written
    /// shows, named by its setting (<see cref="HeraldStartupException"/>).
    /// </summary>
    public static async Task MigrateAsync(SqlStore store, CancellationToken ct)
    {
        try
        {
            await store.MigrateAsync(ct);
        }
        catch (System.Data.Common.DbException ex)
        {
            // The connection string is never quoted: it may hold a password.
            throw new HeraldStartupException(store is SqliteStore sqlite
                ? $"Herald:Storage:DataDirectory: the database {sqlite.DatabasePath} cannot be opened for writing ({ex.Message.TrimEnd('.')}). Expected a file this user can write."
                : $"Herald:Storage:ConnectionString: the PostgreSQL database cannot be opened ({ex.Message.TrimEnd('.')}). Expected a reachable server, database and role as the connection string names them.", ex);
        }
    }

    /// <summary>
    /// Quiet ASP.NET Core's request logging wherever Herald is hosted, not only where an appsettings.json says so: it
    /// would write every query string (<c>?token=</c>, <c>?site_token=</c>) to the log. A configured level wins.
    /// </summary>
    private static void ApplyLoggingDefaults(WebApplicationBuilder builder)
    {
        // The host logs "Hosting failed to start" with the whole stack trace of an exception that StartAsync/RunAsync
        // throws to the caller anyway (herald serve prints a known one as one line): at Critical it keeps only
        // "a BackgroundService failed, stopping the host", which nobody else reports.
        foreach (var (category, level) in new[]
        {
            ("Microsoft.AspNetCore", LogLevel.Warning), ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None),
            ("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical),
        })
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
        // Bound and checked once (HeraldOptionsValidator); everything reads IOptions<HeraldOptions>, Kestrel too.
        services.AddOptions<HeraldOptions>()
            .Configure(o => Bind(section, o))
            .PostConfigure(o => UseDevelopmentSigningKey(o, builder.Environment))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<HeraldOptions>, HeraldOptionsValidator>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<HeraldOptions>>((kestrel, herald) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = herald.Value.Limits.MaxRequestBodyBytes;
            if (herald.Value.Streams.HandOffConnections)
            {
                kestrel.ConfigureEndpointDefaults(Transports.Handoff.ConnectionHandoff.Install);
            }
        });

        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<HeraldMetrics>();
        services.AddSingleton<SqlStore>(sp => CreateStore(sp.GetRequiredService<IOptions<HeraldOptions>>().Value.Storage));
        services.AddSingleton<TopicRegistry>();
        services.AddSingleton<ConnectionTracker>();
        services.AddSingleton<EventDispatcher>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<EventDispatcher>());
        // Read here, not from the bound options: it decides which services exist at all (the validator checks its form).
        var redisUrl = section.GetSection("Redis")["Url"];
        if (string.IsNullOrWhiteSpace(redisUrl))
        {
            services.AddSingleton<IEventBus, InProcessBus>();
            services.AddSingleton<IPresenceStore, InProcessPresenceStore>();
            services.AddSingleton<IMercureSubscriptionStore, InProcessMercureSubscriptionStore>();
        }
        else
        {
            // Several nodes: Redis carries live events, the shared store fills whatever pub/sub loses.
            services.AddSingleton(sp => BackplaneChannels(sp.GetRequiredService<IOptions<HeraldOptions>>().Value.Redis));
            services.AddSingleton<RedisBus>();
            services.AddSingleton<IEventBus>(sp => sp.GetRequiredService<RedisBus>());
            services.AddSingleton<RedisPresenceStore>();
            services.AddSingleton<IPresenceStore>(sp => sp.GetRequiredService<RedisPresenceStore>());
            services.AddSingleton<IMercureSubscriptionStore, RedisMercureSubscriptionStore>();
        }

        services.AddSingleton<EventWriter>();
        services.AddSingleton<EventHub>();
        services.AddSingleton<ReplayService>();
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<PresenceService>();
        services.AddSingleton<StreamHost>();
        services.AddSingleton<SseTransport>();
        services.AddSingleton<WebSocketTransport>();
        services.AddSingleton<LongPollTransport>();
        services.AddSingleton<RequestReader>();
        // One logger of the category seed 000 greps for, taken by every chat POST (creating one per request costs a lookup and an allocation each time).
        services.AddKeyedSingleton(ChatLog.Category, (sp, _) => sp.GetRequiredService<ILoggerFactory>().CreateLogger(ChatLog.Category));
        services.AddSingleton<RateLimits>();
        services.AddSingleton<IValidateOptions<HeraldOptions>, LimitsValidation>();
        services.AddOptions<HeraldOptions>().ValidateOnStart();
        services.AddSingleton<TokenService>();
        services.AddSingleton<AppTokenService>();
        services.AddSingleton<TopicPublisher>();
        services.AddSingleton<OperatorPasswords>();
        services.AddSingleton<AccessCache>();
        // The chat domain's topic namespaces: only the chat API, which stores each message, publishes to them.
        // The Mercure hub's one Herald topic is reserved too: only /.well-known/mercure publishes to it, with its checks.
        services.AddSingleton(new ReservedTopics([DialogTopics.Prefix], [DialogTopics.OperatorFeed, Mercure.MercureUpdate.HeraldTopic]));
        services.AddSingleton<Mercure.MercureTokens>();
        services.AddSingleton<Mercure.MercureHistory>();
        services.AddSingleton<Mercure.MercureSubscriptions>();
        services.AddSingleton<AccessService>();
        services.AddSingleton<WidgetTokenService>();
        services.AddSingleton<GrantWatcher>();

        // Order matters: startup (migrate, bootstrap, position the dispatcher) completes before anything else runs.
        services.AddHostedService<StartupTasks>();
        services.AddHostedService(sp => sp.GetRequiredService<EventWriter>());
        services.AddHostedService<HeartbeatService>();
        services.AddHostedService(sp => sp.GetRequiredService<GrantWatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<PresenceService>());
        if (!string.IsNullOrWhiteSpace(redisUrl))
        {
            services.AddHostedService(sp => sp.GetRequiredService<RedisBus>());
            services.AddHostedService(sp => sp.GetRequiredService<RedisPresenceStore>());
            services.AddHostedService<StoreWatcher>();
        }

        // After the Redis services and the writer, so it stops before them: the ends of the streams the drain closes
        // are still written to Redis and stored (MercureSubscriptions.StopAsync).
        services.AddHostedService(sp => sp.GetRequiredService<Mercure.MercureSubscriptions>());

        services.AddHostedService<RetentionService>();
        // The widget, console and demo (Ui/); after the writer, because the demo seeder writes through it.
        services.AddHeraldUi(builder.Configuration, builder.Environment);
        services.AddHeraldOpenApi();
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
        app.MapStreamEndpoints();
        app.MapWidgetEndpoints();
        app.MapChatEndpoints();
        app.MapOperatorEndpoints();
        app.MapHubEndpoints();
        app.MapServerApiEndpoints();
        app.MapHealthEndpoints();
        app.MapHeraldOperations();
        if (app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value.Mercure.Enabled)
        {
            Mercure.MercureEndpoints.MapMercureEndpoints(app);
        }

        // Seed 004's WebSocket-to-SSE bridge at Herald:Bridge:Path (default /proxy), only when Herald:Bridge:Enabled=true.
        Bridge.GatewayBridgeAccess.MapBridgeIfEnabled(app);
    }

    /// <summary>
    /// The backplane's topic-to-channel map: dialog topics keep seed 000's channel <c>ws:dialog:{id}</c>, so
    /// <c>redis-cli PSUBSCRIBE "ws:dialog:*"</c> shows chat traffic exactly where the seed's runbook looks for it; every
    /// other topic goes to <c>{Herald:Redis:ChannelPrefix}{topic}</c> (default <c>herald:topic:</c>). That is classic mode;
    /// sharded mode (<c>Herald:Redis:ChannelMode=sharded</c>) uses the shard channels instead.
    /// </summary>
    public static RedisChannels BackplaneChannels(RedisOptions redis) =>
        new(redis.ChannelPrefix, [new ChannelMapping(DialogTopics.Prefix, "ws:dialog:")],
            RedisChannels.ParseMode(redis.ChannelMode) ?? RedisChannelMode.Classic, redis.ShardChannels, RedisChannels.ParseSubscribe(redis.Subscribe) ?? false);

    // HeraldOptionsValidator has refused any other provider, and postgres without a connection string, at start.
    private static SqlStore CreateStore(StorageOptions storage)
    {
        if (!storage.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
        {
            return new PostgresStore(storage.ConnectionString!);
        }

        var path = Path.Combine(ResolveDataDirectory(storage.DataDirectory), "herald.db");
        try
        {
            return new SqliteStore(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Data.Common.DbException)
        {
            // SQLite's own words ("SQLite Error 14: 'unable to open database file'") name neither the file nor the setting.
            throw new HeraldStartupException(
                $"Herald:Storage:DataDirectory is '{storage.DataDirectory}': Herald cannot keep its database at {path} ({ex.Message.TrimEnd('.')}). "
                + "Expected a directory this user can create and write; set Herald:Storage:DataDirectory or fix its permissions.", ex);
        }
    }

    /// <summary>Relative data directories are relative to the working directory, where an operator expects them.</summary>
    private static string ResolveDataDirectory(string directory) => Path.GetFullPath(directory, Environment.CurrentDirectory);

    /// <summary>
    /// Binds <c>Herald:*</c>; a value that is not of its setting's type (<c>HeartbeatInterval=abc</c>) fails like any
    /// other invalid setting, with a line naming the key and the format expected (<see cref="SettingFormats"/>).
    /// </summary>
    private static void Bind(IConfigurationSection section, HeraldOptions options)
    {
        if (SettingFormats.Check(section, typeof(HeraldOptions)) is { Count: > 0 } failures)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(HeraldOptions), failures);
        }

        // Any other conversion the binder refuses (a type SettingFormats does not know) still stops the start in one line.
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(HeraldOptions), [ex.Message]);
        }
    }

    // Development runs without configuration; the validator refuses this key everywhere else.
    private static void UseDevelopmentSigningKey(HeraldOptions options, IHostEnvironment environment)
    {
        if (string.IsNullOrEmpty(options.Auth.SigningKey) && environment.IsDevelopment())
        {
            options.Auth.SigningKey = TokenService.DevelopmentSigningKey;
        }
    }
}
