namespace Herald.Server.Auth;

/// <summary>
/// A user of an application, admitted by a token the application's backend signed (<c>Herald:AppTokens</c>):
/// <see cref="Subject"/> is the token's <c>sub</c>, and the token's grants are all it may reach — generic topics
/// only, never a reserved one.
/// </summary>
public sealed record AppUserPrincipal(string Subject, TopicGrant Subscribe, TopicGrant Publish, DateTimeOffset Expires) : Principal
{
    public override string Kind => "user";

    public override DateTimeOffset? ExpiresAt => Expires;
}
