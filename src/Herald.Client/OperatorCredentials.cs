using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>An operator (<c>Authorization: Bearer &lt;jwt&gt;</c>).</summary>
/// <param name="AccessToken">The JWT.</param>
public sealed record OperatorCredentials(string AccessToken) : HeraldCredentials
{
    /// <summary>Returns a fresh JWT of the same operator; see <see cref="HeraldCredentials.Operator"/>.</summary>
    public Func<CancellationToken, Task<string>>? RefreshToken { get; init; }

    internal override Func<CancellationToken, Task<string>>? Refresher => RefreshToken;

    internal override HeraldCredentials WithToken(string token) => this with { AccessToken = token };

    internal override void Apply(List<KeyValuePair<string, string>> query, HttpRequestHeaders headers) =>
        headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);

    /// <summary>Keeps the token out of logs and exception messages.</summary>
    public override string ToString() => "OperatorCredentials { AccessToken = *** }";
}
