namespace Herald.Server.Auth;

/// <summary>Who is making a request. Every endpoint and transport resolves its caller through <see cref="AccessService"/>.</summary>
public abstract record Principal
{
    /// <summary>For logs and stats: <c>operator</c>, <c>guest</c>, <c>site</c>, <c>service</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>When the credential stops being valid (streams are closed then), or null when it does not expire.</summary>
    public virtual DateTimeOffset? ExpiresAt => null;
}

/// <summary>An operator authenticated by a JWT.</summary>
public sealed record OperatorPrincipal(long OperatorId, string Email, DateTimeOffset TokenExpiresAt) : Principal
{
    public override string Kind => "operator";

    public override DateTimeOffset? ExpiresAt => TokenExpiresAt;
}

/// <summary>A widget visitor identified by <c>assistant_id</c> + <c>guest_id</c> (seed 000's guest mode).</summary>
public sealed record GuestPrincipal(long AssistantId, string GuestId) : Principal
{
    /// <summary>The widget token the visitor came with, when it came with one (site-token mode).</summary>
    public long? SiteTokenId { get; init; }

    /// <summary>
    /// The page domain (<c>host[:port]</c>) the assistant's domains admitted in guest mode; null when no domain was
    /// checked (no Origin, Herald's own page, or site-token mode, where the token's fixed domains decide). Open streams
    /// are re-checked against it when the assistant's domains change (<see cref="GrantWatcher"/>).
    /// </summary>
    public string? AdmittedDomain { get; init; }

    /// <summary>The <c>identifier_hash</c> the guest presented (null when none), kept so open streams can be re-checked.</summary>
    public string? IdentifierHash { get; init; }

    public override string Kind => SiteTokenId is null ? "guest" : "site";
}

/// <summary>A backend service authenticated by an API key (may publish to generic topics).</summary>
public sealed record ServicePrincipal(string KeyName) : Principal
{
    public override string Kind => "service";
}
