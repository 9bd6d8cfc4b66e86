namespace Herald.Server.Auth;

/// <summary>Who is making a request. Every endpoint and transport resolves its caller through <see cref="AccessService"/>.</summary>
public abstract record Principal
{
    /// <summary>For logs and stats: <c>operator</c>, <c>guest</c>, <c>site</c>, <c>service</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>When the credential stops being valid (streams are closed then), or null when it does not expire.</summary>
    public virtual DateTimeOffset? ExpiresAt => null;
}
