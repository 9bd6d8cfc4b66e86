using System.Net;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Herald.Server.Ui;

/// <summary>
/// What people see, served by Herald itself with no build step: <c>/herald.js</c> (the client),
/// <c>/widget.js</c> (the embeddable chat widget), <c>/console</c> (operators) and, in Development or with
/// <c>Herald:Demo:Enabled=true</c>, <c>/demo</c> (a shop page that embeds the widget).
/// </summary>
/// <remarks>
/// The files are resources embedded from <c>wwwroot/</c> (and <c>clients/js/src/herald.js</c>), see the project file.
/// Scripts and styles go through the static-file middleware; pages only through their routes, so that they get
/// their security headers and the demo page its token.
/// </remarks>
public static class UiEndpoints
{
    private const string ResourceNamespace = "Herald.Server.wwwroot";

    // Scripts are embedded on customers' sites and must pick up a new release soon; pages are always revalidated.
    private const string AssetCacheControl = "public, max-age=300";
    private const string PageCacheControl = "no-cache";

    // The console holds an operator token: nothing but its own files runs in it, and nobody may frame it. The demo
    // gets the same policy, which also shows that the widget needs no inline script or style on a customer's site.
    private const string PagePolicy =
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IServiceCollection AddHeraldUi(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddSingleton<DemoSite>();
        if (DemoSite.IsEnabled(configuration, environment))
        {
            services.AddHostedService<DemoSeeder>();
        }

        return services;
    }

    public static WebApplication UseHeraldUi(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(UiEndpoints).Assembly, ResourceNamespace);
        var types = new FileExtensionContentTypeProvider();
        // A classic script is decoded with the embedding page's charset unless the response names one.
        types.Mappings[".js"] = "text/javascript; charset=utf-8";
        types.Mappings[".css"] = "text/css; charset=utf-8";
        app.UseWhen(context => IsAsset(context.Request.Path), branch => branch.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = types,
            OnPrepareResponse = file =>
            {
                var headers = file.Context.Response.Headers;
                headers.CacheControl = AssetCacheControl;
                headers.XContentTypeOptions = "nosniff";
                // Public code, loaded by other sites: a module import or an integrity check there is a CORS request.
                headers.AccessControlAllowOrigin = "*";
            },
        }));

        var console = ReadPage(files, "console.html");
        app.MapMethods("/console", [HttpMethods.Get, HttpMethods.Head], (HttpContext context) => WritePage(context, console, PagePolicy))
            .ExcludeFromDescription();
        // Whoever opens the server's address in a browser is a person: the console, not the API's JSON 404.
        app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], () => Results.Redirect("/console")).ExcludeFromDescription();

        if (DemoSite.IsEnabled(app.Configuration, app.Environment))
        {
            var demo = ReadPage(files, "demo.html");
            app.MapMethods("/demo", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, DemoSite site) =>
            {
                if (site.Current is not { } current)
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = "2";
                    return WritePage(context, "<!doctype html><title>Herald demo</title><p>The demo is being set up; reload in a moment.</p>", PagePolicy);
                }

                return WritePage(context, FillDemo(demo, current, app.Environment.IsDevelopment()), PagePolicy);
            }).ExcludeFromDescription();
        }

        return app;
    }

    // The API and the sockets never look for files; pages are not files either (their routes add headers and fill them).
    private static bool IsAsset(PathString path) =>
        !path.StartsWithSegments("/api") && !path.StartsWithSegments("/ws") && path.Value?.EndsWith(".html", StringComparison.OrdinalIgnoreCase) != true;

    private static string ReadPage(IFileProvider files, string name)
    {
        var file = files.GetFileInfo(name);
        if (!file.Exists)
        {
            throw new InvalidOperationException($"The embedded page {name} is missing from the build.");
        }

        using var reader = new StreamReader(file.CreateReadStream());
        return reader.ReadToEnd();
    }

    private static Task WritePage(HttpContext context, string html, string policy)
    {
        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = PageCacheControl;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = policy;
        response.Headers.XFrameOptions = "DENY";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.WriteAsync(html, context.RequestAborted);
    }

    private static string FillDemo(string template, DemoSite.Info site, bool development)
    {
        // Development's operator account is public knowledge (README); anywhere else the page does not guess it.
        var credentials = development
            ? $"Sign in as <code>{WebUtility.HtmlEncode(DemoSite.DevelopmentAdminEmail)}</code> / <code>{WebUtility.HtmlEncode(DemoSite.DevelopmentAdminPassword)}</code>."
            : "Sign in with your operator account.";
        return template
            .Replace("{{site_token}}", WebUtility.HtmlEncode(site.SiteToken), StringComparison.Ordinal)
            .Replace("{{assistant_id}}", site.AssistantId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{credentials}}", credentials, StringComparison.Ordinal);
    }
}
