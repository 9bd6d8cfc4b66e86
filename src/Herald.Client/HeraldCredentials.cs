using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>
/// Who a request speaks for: a guest of a widget, an operator (JWT), a site widget (site token) or an application's
/// user (app token). Create one with <see cref="Guest"/>, <see cref="Operator"/>, <see cref="Site"/> or <see cref="AppUser"/>.
/// </summary>
/// <remarks>
/// Guests and site widgets authenticate with query parameters, exactly as a browser widget does; operators
/// with an <c>Authorization: Bearer</c> header, which keeps the token out of URLs and access logs.
/// </remarks>
public abstract record HeraldCredentials
{
    private protected HeraldCredentials()
    {
    }

    /// <summary>A widget guest: the assistant the widget belongs to and the guest's own id.</summary>
    /// <param name="assistantId">The assistant (widget) id.</param>
    /// <param name="guestId">The guest's id: 1-128 characters of letters, digits, '-', '_' and '.'.</param>
    public static GuestCredentials Guest(long assistantId, string guestId) => new(assistantId, guestId);

    /// <summary>An operator, with the access token from <see cref="HeraldClient.LoginAsync"/>.</summary>
    /// <param name="accessToken">The JWT.</param>
    /// <param name="refreshToken">
    /// Optional: returns a fresh JWT of the same operator. Subscriptions call it when the server announces that the
    /// token is about to expire (<c>auth-expiring</c>) and extend the open stream with the new token, and once when
    /// a reconnect is refused with 401. Without it a subscription ends with <see cref="HeraldException"/> (401)
    /// when the token expires.
    /// </param>
    public static OperatorCredentials Operator(string accessToken, Func<CancellationToken, Task<string>>? refreshToken = null) =>
        new(accessToken) { RefreshToken = refreshToken };

    /// <summary>An application's user, with the subscriber token the application's backend signed for it (docs/apps.md).</summary>
    /// <param name="token">The app token.</param>
    /// <param name="refreshToken">
    /// Optional: returns a fresh token of the same user (from the application's backend). Used like the operator's:
    /// on <c>auth-expiring</c> the open stream is extended in place, and once when a reconnect is refused with 401.
    /// </param>
    public static AppUserCredentials AppUser(string token, Func<CancellationToken, Task<string>>? refreshToken = null) =>
        new(token) { RefreshToken = refreshToken };

    /// <summary>A site widget, with the token the site was issued.</summary>
    /// <param name="siteToken">The site token.</param>
    public static SiteCredentials Site(string siteToken) => new(siteToken);

    /// <summary>Returns a fresh token for these credentials, when they have a way to get one.</summary>
    internal virtual Func<CancellationToken, Task<string>>? Refresher => null;

    /// <summary>The same credentials with a fresh token (only those with a <see cref="Refresher"/>).</summary>
    internal virtual HeraldCredentials WithToken(string token) => throw new NotSupportedException("These credentials carry no token.");

    /// <summary>Adds the credential to a request: query parameters and/or headers.</summary>
    internal abstract void Apply(List<KeyValuePair<string, string>> query, HttpRequestHeaders headers);
}
