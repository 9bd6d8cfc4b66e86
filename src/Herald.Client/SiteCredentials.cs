using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>A site widget (<c>?site_token=</c>).</summary>
/// <param name="SiteToken">The site token.</param>
public sealed record SiteCredentials(string SiteToken) : HeraldCredentials
{
    internal override void Apply(List<KeyValuePair<string, string>> query, HttpRequestHeaders headers) =>
        query.Add(new("site_token", SiteToken));

    /// <summary>Keeps the token out of logs and exception messages.</summary>
    public override string ToString() => "SiteCredentials { SiteToken = *** }";
}
