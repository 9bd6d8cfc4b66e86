using System.Globalization;

namespace Herald.Server.Cli.Doctor;

/// <summary><c>herald doctor &lt;base-url&gt; ...</c>: parses the options, runs <see cref="HeraldDoctor"/>, prints the report.</summary>
internal static class DoctorCommand
{
    public const string Usage = """
        Usage: herald doctor <base-url> [credential] [--origin URL] [--json] [--timeout SECONDS] [--messages N]
          credential (one of):
            --token JWT                       an operator token (the doctor uses its own assistant 'herald-doctor')
            --email E --password P            log in as an operator
            --assistant-id N [--guest-id G]   guest mode, as a widget without a token (seed 000)
            --site-token T [--guest-id G]     a widget token; needs --origin (one of the token's domains)
          --origin URL   the site the widget runs on, e.g. https://shop.example.com (CORS and widget-token checks)
          --json         machine-readable report
        Exit code: 0 when every check passed, 1 when one failed or could not run, 2 for bad usage.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var (options, json, error) = Parse(args);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"{error}\n{Usage}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        var report = await new HeraldDoctor(options!).RunAsync(cancel.Token);
        Console.Write(json ? report.ToJson() + "\n" : report.ToText());
        return report.Ok ? 0 : 1;
    }

    internal static (DoctorOptions? Options, bool Json, string? Error) Parse(string[] args)
    {
        var rest = args.ToList();
        var json = rest.Remove("--json");
        string? Take(string name) => HeraldCommandLine.TakeOption(rest, name);
        var token = Take("--token");
        var email = Take("--email");
        var password = Take("--password") ?? Environment.GetEnvironmentVariable("HERALD_DOCTOR_PASSWORD");
        var assistant = Take("--assistant-id");
        var guest = Take("--guest-id");
        var site = Take("--site-token");
        var origin = Take("--origin");
        var timeout = Take("--timeout");
        var messages = Take("--messages");
        if (rest.Count != 1)
        {
            return (null, json, rest.Count == 0 ? "Give the base URL, e.g. herald doctor https://chat.example.com" : $"Unexpected arguments: {string.Join(' ', rest)}");
        }

        if (!Uri.TryCreate(rest[0], UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps))
        {
            return (null, json, $"'{rest[0]}' is not an http:// or https:// URL.");
        }

        if (new[] { token is not null, email is not null, site is not null, assistant is not null }.Count(b => b) > 1)
        {
            return (null, json, "Give one credential: --token, --email/--password, --assistant-id or --site-token.");
        }

        if (email is not null && password is null)
        {
            return (null, json, "--email needs --password (or HERALD_DOCTOR_PASSWORD).");
        }

        long? assistantId = null;
        if (assistant is not null)
        {
            if (!long.TryParse(assistant, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            {
                return (null, json, "--assistant-id must be a positive number.");
            }

            assistantId = id;
        }

        if (site is not null && origin is null)
        {
            return (null, json, "--site-token needs --origin: a widget token is only valid on the pages of its domains.");
        }

        if (origin is not null && (!Uri.TryCreate(origin, UriKind.Absolute, out var o) || o.Host.Length == 0))
        {
            return (null, json, $"--origin '{origin}' is not a URL such as https://shop.example.com.");
        }

        var seconds = 10.0;
        if (timeout is not null && (!double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || seconds <= 0 || seconds > 300))
        {
            return (null, json, "--timeout is seconds, 0-300.");
        }

        var count = 3;
        if (messages is not null && (!int.TryParse(messages, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 100))
        {
            return (null, json, "--messages is 1-100.");
        }

        return (new DoctorOptions
        {
            BaseUrl = baseUrl,
            Token = token,
            Email = email,
            Password = password,
            AssistantId = assistantId,
            GuestId = guest ?? "herald-doctor",
            SiteToken = site,
            Origin = origin?.TrimEnd('/'),
            Timeout = TimeSpan.FromSeconds(seconds),
            Messages = count,
        }, json, null);
    }
}
