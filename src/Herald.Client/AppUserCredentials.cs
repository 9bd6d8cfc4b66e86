using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>
/// A user of an application, with the subscriber token the application's backend signed for it
/// (<c>Authorization: Bearer &lt;jwt&gt;</c>; the token names the generic topics it may subscribe and publish to).
/// </summary>
/// <param name="Token">The app token.</param>
public sealed record AppUserCredentials(string Token) : HeraldCredentials
{
    /// <summary>Returns a fresh token of the same user from the application's backend; see <see cref="HeraldCredentials.AppUser"/>.</summary>
    public Func<CancellationToken, Task<string>>? RefreshToken { get; init; }

    internal override Func<CancellationToken, Task<string>>? Refresher => RefreshToken;

    internal override HeraldCredentials WithToken(string token) => this with { Token = token };

    internal override void Apply(List<KeyValuePair<string, string>> query, HttpRequestHeaders headers) =>
        headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);

    /// <summary>Keeps the token out of logs and exception messages.</summary>
    public override string ToString() => "AppUserCredentials { Token = *** }";
}
