using System.Text.Json.Serialization;

namespace Herald.Client;

/// <summary>The answer to <see cref="HeraldClient.LoginAsync"/>.</summary>
/// <param name="AccessToken">The operator JWT.</param>
/// <param name="TokenType">Always <c>bearer</c>.</param>
/// <param name="ExpiresIn">Seconds until the token expires.</param>
public sealed record HeraldLogin(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] long ExpiresIn)
{
    /// <summary>The token as credentials for subscriptions and posts.</summary>
    [JsonIgnore]
    public OperatorCredentials Credentials => HeraldCredentials.Operator(AccessToken);

    /// <summary>Keeps the token out of logs and exception messages.</summary>
    public override string ToString() => $"HeraldLogin {{ TokenType = {TokenType}, ExpiresIn = {ExpiresIn} }}";
}
