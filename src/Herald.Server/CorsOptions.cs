namespace Herald.Server;

public sealed class CorsOptions
{
    /// <summary>
    /// Origins (<c>scheme://host[:port]</c>, exact, never <c>*</c>) of operator apps served elsewhere than Herald,
    /// e.g. an admin frontend on <c>http://localhost:3000</c>: they get CORS on every <c>/api</c> endpoint, with
    /// <c>Authorization</c> allowed in preflights. Checked at start.
    /// </summary>
    public string[] OperatorOrigins { get; set; } = [];
}
