namespace Herald.Server.Auth;

/// <summary>A backend service authenticated by an API key (may publish to generic topics).</summary>
public sealed record ServicePrincipal(string KeyName) : Principal
{
    public override string Kind => "service";
}
