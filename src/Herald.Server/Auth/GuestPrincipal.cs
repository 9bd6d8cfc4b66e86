namespace Herald.Server.Auth;

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
