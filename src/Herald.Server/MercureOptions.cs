namespace Herald.Server;

/// <summary>
/// The Mercure hub at <c>/.well-known/mercure</c> (docs/mercure.md). Off unless <see cref="Enabled"/>; then a publisher
/// key is required (checked at start). Tokens are verified by the same key ring as app tokens: <c>Keys</c> and
/// <c>JwksFile</c> (HS256/RS256/ES256, <c>kid</c>, rotation) serve both roles; Mercure's own names
/// (<see cref="JwtKey"/>, <see cref="PublisherJwtKey"/>, <see cref="SubscriberJwtKey"/>, Symfony's
/// <c>MERCURE_JWT_SECRET</c>) add an HS256 secret to one role's ring. None may be the operators' <c>Herald:Auth:SigningKey</c>.
/// </summary>
public sealed class MercureOptions : TokenKeyRingOptions
{
    /// <summary>Serve the hub.</summary>
    public bool Enabled { get; set; }

    /// <summary>HS256 secret for both publishers' and subscribers' tokens (Mercure's <c>jwt_key</c>); at least 32 bytes.</summary>
    public string? JwtKey { get; set; }

    /// <summary>HS256 secret for publishers' tokens only; overrides <see cref="JwtKey"/> for them.</summary>
    public string? PublisherJwtKey { get; set; }

    /// <summary>HS256 secret for subscribers' tokens only; overrides <see cref="JwtKey"/> for them.</summary>
    public string? SubscriberJwtKey { get; set; }

    /// <summary>Subscribers without a token get the public updates (Mercure's <c>anonymous</c>). Off: they get 401.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// Origins whose pages may subscribe and publish across origins (Mercure's <c>cors_origins</c>), as
    /// <c>scheme://host[:port]</c>; credentials (the cookie) are allowed for them. <c>*</c> allows any origin without credentials.
    /// </summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>The cookie a browser subscriber's token comes in (Symfony's MercureBundle sets <c>mercureAuthorization</c>).</summary>
    public string CookieName { get; set; } = "mercureAuthorization";

    /// <summary>Most selectors (<c>topic=</c>, <c>match=</c>, <c>match_urlpattern=</c>) in one subscription.</summary>
    public int MaxSelectors { get; set; } = 32;

    /// <summary>Most <c>topic</c> fields in one update.</summary>
    public int MaxTopicsPerUpdate { get; set; } = 32;

    /// <summary>Largest publish body, in bytes; above it the answer is 413.</summary>
    public int MaxUpdateBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// The active subscriptions feature (Mercure's <c>subscriptions</c>, off by default there too): the API at
    /// <c>/.well-known/mercure/subscriptions{/topic}{/subscriber}</c> and a private update on
    /// <c>/.well-known/mercure/subscriptions/{topic}/{subscriber}</c> for each subscription that starts or ends, on every node.
    /// Each connect and disconnect then costs a stored event (and, clustered, a Redis write).
    /// </summary>
    public bool Subscriptions { get; set; }
}
