namespace Herald.Server.Auth;

/// <summary>An operator authenticated by a JWT.</summary>
public sealed record OperatorPrincipal(long OperatorId, string Email, DateTimeOffset TokenExpiresAt) : Principal
{
    public override string Kind => "operator";

    public override DateTimeOffset? ExpiresAt => TokenExpiresAt;
}
