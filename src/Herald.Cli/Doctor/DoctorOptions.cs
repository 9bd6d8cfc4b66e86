namespace Herald.Cli.Doctor;

/// <summary>What <c>herald doctor</c> checks and with which credential.</summary>
internal sealed record DoctorOptions
{
    /// <summary>Where clients connect: Herald itself, or the proxy in front of it. May carry a path prefix.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>An operator JWT (<c>--token</c>); the doctor then uses its own assistant <c>herald-doctor</c> and dialog.</summary>
    public string? Token { get; init; }

    /// <summary>Operator credentials to log in with instead of a token.</summary>
    public string? Email { get; init; }

    public string? Password { get; init; }

    /// <summary>Guest mode (seed 000): the widget's assistant and a guest id.</summary>
    public long? AssistantId { get; init; }

    /// <summary>A probe's guest id by default, so the test dialog stays hidden from operators; another id is an ordinary visitor.</summary>
    public string GuestId { get; init; } = DefaultGuestId;

    public const string DefaultGuestId = Herald.Server.Storage.DialogRecord.ProbeGuestPrefix + "doctor";

    /// <summary>Site-widget mode: a widget token, used with <see cref="Origin"/>.</summary>
    public string? SiteToken { get; init; }

    /// <summary>The site the widget runs on (<c>https://shop.example.com</c>), for the CORS and widget-token checks.</summary>
    public string? Origin { get; init; }

    /// <summary>Bound on every network step (connect, response, one delivery).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Herald sends <c>retry:</c> and a heartbeat the moment a stream opens; later than this means a proxy holds them.</summary>
    public TimeSpan PreludeWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Test messages posted; several, so that behind a balancer the POST and the stream likely hit different nodes.</summary>
    public int Messages { get; init; } = 3;

    public string Mode =>
        Token is not null || Email is not null ? "operator"
        : SiteToken is not null ? "site"
        : AssistantId is not null ? "guest"
        : "none";
}
