using System.CommandLine;
using System.CommandLine.Parsing;

namespace Herald.Cli.Doctor;

/// <summary><c>herald doctor &lt;base-url&gt; ...</c>: parses the options, runs <see cref="HeraldDoctor"/>, prints the report.</summary>
/// <remarks>Exit code: 0 when every check passed, 1 when one failed or could not run, 2 for bad usage.</remarks>
internal static class DoctorCommand
{
    private static readonly Argument<Uri> BaseUrl = new("base-url")
    {
        Description = "Where clients connect: Herald itself or the proxy in front of it, e.g. https://chat.example.com",
        CustomParser = ParseBaseUrl,
    };

    private static readonly Option<string> Token = new("--token") { Description = "An operator token (the doctor's probe dialog, hidden from operators, goes under the first assistant)." };
    private static readonly Option<string> Email = new("--email") { Description = "Log in as this operator (with --password)." };

    private static readonly Option<string> Password = new("--password")
    {
        Description = "The operator's password (or HERALD_DOCTOR_PASSWORD).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HERALD_DOCTOR_PASSWORD")!,
    };

    private static readonly Option<long?> AssistantId = new("--assistant-id")
    {
        Description = "Guest mode, as a widget without a token (seed 000).",
        CustomParser = r => HeraldCommandLine.ParseNumber<long>(r, id => id > 0, "--assistant-id must be a positive number."),
    };
    private static readonly Option<string> GuestId = new("--guest-id")
    {
        Description = $"The guest id to use (default {DoctorOptions.DefaultGuestId}: ids starting {Herald.Server.Storage.DialogRecord.ProbeGuestPrefix} are probes, hidden from operators).",
        DefaultValueFactory = _ => DoctorOptions.DefaultGuestId,
    };
    private static readonly Option<string> SiteToken = new("--site-token") { Description = "A widget token; needs --origin (one of the token's domains)." };
    private static readonly Option<string> Origin = new("--origin") { Description = "The site the widget runs on, e.g. https://shop.example.com (CORS and widget-token checks)." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print a machine-readable report." };
    private static readonly Option<double> Timeout = new("--timeout")
    {
        Description = "Seconds each network step may take (0-300).",
        DefaultValueFactory = _ => 10,
        CustomParser = r => HeraldCommandLine.ParseNumber<double>(r, s => s is > 0 and <= 300, "--timeout is seconds, 0-300."),
    };

    private static readonly Option<int> Messages = new("--messages")
    {
        Description = "Test messages to post (1-100).",
        DefaultValueFactory = _ => 3,
        CustomParser = r => HeraldCommandLine.ParseNumber<int>(r, n => n is >= 1 and <= 100, "--messages is 1-100."),
    };

    public static Command Create()
    {
        var command = new Command("doctor", "Check a deployment end to end, as seed 000's checklist does: health, CORS, streams through the proxy, delivery.")
        {
            BaseUrl, Token, Email, Password, AssistantId, GuestId, SiteToken, Origin, Json, Timeout, Messages,
        };
        Origin.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } origin && !(Uri.TryCreate(origin, UriKind.Absolute, out var url) && url.Host.Length > 0))
            {
                r.AddError($"--origin '{origin}' is not a URL such as https://shop.example.com.");
            }
        });
        command.Validators.Add(ValidateCredentials);
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>Parses a doctor command line (without the word <c>doctor</c>) into options, or the reason it is wrong.</summary>
    internal static (DoctorOptions? Options, bool Json, string? Error) Parse(string[] args)
    {
        var result = Create().Parse(args);
        return result.Errors.Count > 0
            ? (null, false, string.Join("\n", result.Errors.Select(e => e.Message)))
            : (ToOptions(result), result.GetValue(Json), null);
    }

    private static async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        var report = await new HeraldDoctor(ToOptions(result)).RunAsync(cancellationToken);
        Console.Write(result.GetValue(Json) ? report.ToJson() + "\n" : report.ToText());
        return report.Ok ? 0 : 1;
    }

    private static DoctorOptions ToOptions(ParseResult result) => new()
    {
        BaseUrl = result.GetRequiredValue(BaseUrl),
        Token = result.GetValue(Token),
        Email = result.GetValue(Email),
        Password = result.GetValue(Password),
        AssistantId = result.GetValue(AssistantId),
        GuestId = result.GetValue(GuestId)!,
        SiteToken = result.GetValue(SiteToken),
        Origin = result.GetValue(Origin)?.TrimEnd('/'),
        Timeout = TimeSpan.FromSeconds(result.GetValue(Timeout)),
        Messages = result.GetValue(Messages),
    };

    private static Uri ParseBaseUrl(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
        {
            return url;
        }

        result.AddError($"'{text}' is not an http:// or https:// URL, e.g. herald doctor https://chat.example.com");
        return null!;
    }

    // Rules that span options: one credential, and the partner each one needs. Presence only: a value that failed to
    // parse has its own error already.
    private static void ValidateCredentials(CommandResult result)
    {
        bool Given(Option option) => result.GetResult(option) is { Implicit: false };
        if (new Option[] { Token, Email, SiteToken, AssistantId }.Count(Given) > 1)
        {
            result.AddError("Give one credential: --token, --email/--password, --assistant-id or --site-token.");
        }
        else if (Given(Email) && string.IsNullOrEmpty(result.GetValue(Password)))
        {
            result.AddError("--email needs --password (or HERALD_DOCTOR_PASSWORD).");
        }
        else if (Given(SiteToken) && !Given(Origin))
        {
            result.AddError("--site-token needs --origin: a widget token is only valid on the pages of its domains.");
        }
    }
}
