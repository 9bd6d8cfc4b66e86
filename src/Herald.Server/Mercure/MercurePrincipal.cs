namespace Herald.Server.Mercure;

/// <summary>A Mercure subscriber: its grants (null for an anonymous subscriber, who gets public updates only).</summary>
public sealed record MercurePrincipal(MercureGrants? Grants) : Auth.Principal
{
    public override string Kind => Grants is null ? "mercure-anonymous" : "mercure";

    /// <summary>The stream closes at the token's <c>exp</c> (the draft requires it), after an <c>auth-expiring</c> warning.</summary>
    public override DateTimeOffset? ExpiresAt => Grants?.ExpiresAt;
}
