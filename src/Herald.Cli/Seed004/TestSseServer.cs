using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Herald.Bridge;

namespace Herald.Cli.Seed004;

/// <summary>
/// Seed 004's test SSE server (<c>herald testserver</c>): every request to <c>/events</c> (or <c>/</c>), GET or
/// POST, is answered with <c>responseCount</c> events <c>responseDelay</c> ms apart, then the stream ends.
/// </summary>
/// <remarks>
/// The message echoed is the <c>message</c> field of a JSON body (what <c>herald testclient</c> sends), a JSON
/// string body, any other body as text, or the <c>?message=</c> query parameter. Event names follow the seed's
/// sample: the first is <c>message</c>, the last <c>final-message</c>, those between <c>user-message</c>; ids are
/// <c>echo-&lt;request time in ms&gt;-&lt;n&gt;</c>; the last event carries <c>retry: 5000</c>.
/// </remarks>
public static class TestSseServer
{
    /// <summary>The path <c>herald testclient</c> posts to.</summary>
    public const string EventsPath = "/events";

    private const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions DataOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    /// <summary>Builds (does not start) the test server on <c>testServer.host:testServer.port</c>.</summary>
    /// <param name="settings">The <c>testServer</c> section.</param>
    /// <param name="output">Where the server narrates what it receives and sends (the console for the command).</param>
    /// <param name="configure">Last say over the builder.</param>
    public static WebApplication Build(TestServerSettings settings, TextWriter output, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(BridgeHost.ListenUrl(settings.Host, settings.Port));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);
        var app = builder.Build();
        string[] methods = ["GET", "POST"];
        app.MapMethods(EventsPath, methods, context => StreamAsync(context, settings, output));
        app.MapMethods("/", methods, context => StreamAsync(context, settings, output));
        return app;
    }

    private static async Task StreamAsync(HttpContext context, TestServerSettings settings, TextWriter output)
    {
        var cancellationToken = context.RequestAborted;
        var message = await ReadMessageAsync(context.Request, cancellationToken);
        await output.WriteLineAsync($"📨 Received {context.Request.Method} {context.Request.Path}: {message}");

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["x-server-name"] = "Test SSE Server";
        await response.StartAsync(cancellationToken);

        var requestTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var count = settings.ResponseCount;
        try
        {
            for (var n = 1; n <= count; n++)
            {
                if (n > 1)
                {
                    await Task.Delay(settings.ResponseDelay, cancellationToken);
                }

                var name = n == count ? "final-message" : n == 1 ? "message" : "user-message";
                var data = JsonSerializer.Serialize(new EchoData("echo", message, FormatTime(DateTimeOffset.UtcNow), $"Echo {n}/{count}: {message}", n), DataOptions);
                var frame = new StringBuilder()
                    .Append(CultureInfo.InvariantCulture, $"id: echo-{requestTime}-{n}\n")
                    .Append(CultureInfo.InvariantCulture, $"event: {name}\n");
                if (n == count)
                {
                    frame.Append("retry: 5000\n");
                }

                frame.Append(CultureInfo.InvariantCulture, $"data: {data}\n\n");
                await response.WriteAsync(frame.ToString(), cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                await output.WriteLineAsync($"📤 Sent {n}/{count} [{name}]: Echo {n}/{count}: {message}");
            }

            await output.WriteLineAsync("🔚 Stream complete, closing");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await output.WriteLineAsync("⚠️ Client went away");
        }
    }

    private static async Task<string> ReadMessageAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return request.Query["message"].ToString();
        }

        var buffer = new byte[MaxBodyBytes];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        var text = Encoding.UTF8.GetString(buffer, 0, length);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("message", out var field) && field.ValueKind == JsonValueKind.String)
            {
                return field.GetString()!;
            }

            if (root.ValueKind == JsonValueKind.String)
            {
                return root.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not JSON: the body itself is the message.
        }

        return text;
    }

    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The data of each event, in the seed's sample shape and property order.</summary>
    private sealed record EchoData(string Type, string OriginalMessage, string Timestamp, string Response, int Sequence);
}
