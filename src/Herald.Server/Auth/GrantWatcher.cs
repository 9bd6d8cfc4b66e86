using Herald.Protocol;
using Herald.Protocol.Web;
using Herald.Server.Hub;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>
/// Ends open widget streams (SSE, WebSocket, waiting long polls) whose grant was withdrawn after they opened: the site
/// token revoked or rotated, the assistant's domains changed, the identity rule switched on, or, in guest mode, the
/// assistant's domains no longer admitting the page.
/// </summary>
/// <remarks>
/// <para>One loop per node, no timer per connection. Streams are grouped by assistant. Every <see cref="Interval"/> the
/// loop reads the assistants and site tokens that open streams depend on straight from the store (one query per
/// <see cref="SqlStore.MaxIdsPerQuery"/> ids, none when no widget stream is open), so a change made on any node is
/// seen within one interval, without waiting for the 5 s request caches. It then re-checks only the streams of an
/// assistant or token whose record changed since the last pass, plus the streams opened since then (they may have
/// been admitted from a cache up to 5 s old): an idle deployment costs two small queries per interval, not a check
/// per connection.</para>
/// <para>The rules are those of a request (<see cref="WidgetTokenService.Refusal"/>, the domain match,
/// <see cref="AccessService.IsVerifiedIdentity"/>) applied to what the stream was admitted with. A stream that fails is
/// closed with <see cref="Disconnect.AuthRevoked"/> and seed 000's reason as the detail; what was queued for it
/// is dropped.</para>
/// </remarks>
public sealed class GrantWatcher(SqlStore store, WidgetTokenService widgetTokens, Diagnostics.HeraldMetrics metrics, ILogger<GrantWatcher> logger) : BackgroundService
{
    /// <summary>How often open streams are re-checked; well inside the 5 s that docs/security.md promises.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<long, AssistantStreams> _byAssistant = [];

    // Token records as of the last pass; used by the loop only.
    private readonly Dictionary<long, TokenStamp> _tokens = [];

    /// <summary>Watches a stream opened by a widget (other callers' credentials cannot be withdrawn this way).</summary>
    public void Add(Subscriber subscriber)
    {
        if (subscriber.Principal is not GuestPrincipal guest)
        {
            return;
        }

        lock (_gate)
        {
            if (!_byAssistant.TryGetValue(guest.AssistantId, out var group))
            {
                _byAssistant[guest.AssistantId] = group = new AssistantStreams();
            }

            group.Streams.Add(subscriber);
            group.Fresh.Add(subscriber);
            if (guest.SiteTokenId is { } tokenId)
            {
                group.TokenRefs[tokenId] = group.TokenRefs.GetValueOrDefault(tokenId) + 1;
            }
        }
    }

    public void Remove(Subscriber subscriber)
    {
        if (subscriber.Principal is not GuestPrincipal guest)
        {
            return;
        }

        lock (_gate)
        {
            if (!_byAssistant.TryGetValue(guest.AssistantId, out var group) || !group.Streams.Remove(subscriber))
            {
                return;
            }

            group.Fresh.Remove(subscriber);
            if (guest.SiteTokenId is { } tokenId && --group.TokenRefs[tokenId] == 0)
            {
                group.TokenRefs.Remove(tokenId);
            }

            if (group.Streams.Count == 0)
            {
                _byAssistant.Remove(guest.AssistantId);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RecheckAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // A store hiccup must not end the re-checks: the next pass compares against the last good one.
                    GrantLog.RecheckFailed(logger, ex);
                    metrics.LoopFault("grant_watcher");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RecheckAsync(CancellationToken ct)
    {
        List<long> assistantIds;
        List<long> tokenIds;
        lock (_gate)
        {
            if (_byAssistant.Count == 0)
            {
                _tokens.Clear();
                return;
            }

            assistantIds = [.. _byAssistant.Keys];
            tokenIds = [.. _byAssistant.Values.SelectMany(g => g.TokenRefs.Keys).Distinct()];
        }

        var assistants = (await store.GetAssistantsAsync(assistantIds, ct)).ToDictionary(a => a.Id);
        var tokens = (await store.GetWidgetTokensAsync(tokenIds, ct)).ToDictionary(t => t.Id);
        var fetched = tokenIds.ToHashSet();
        var changedTokens = new HashSet<long>();
        foreach (var id in tokenIds)
        {
            var stamp = TokenStamp.Of(tokens.GetValueOrDefault(id));
            if (!_tokens.TryGetValue(id, out var seen) || seen != stamp)
            {
                changedTokens.Add(id);
                _tokens[id] = stamp;
            }
        }

        if (_tokens.Count > tokenIds.Count)
        {
            var used = tokenIds.ToHashSet();
            foreach (var gone in _tokens.Keys.Where(id => !used.Contains(id)).ToList())
            {
                _tokens.Remove(gone);
            }
        }

        var due = new List<Subscriber>();
        foreach (var assistantId in assistantIds)
        {
            var assistant = assistants.GetValueOrDefault(assistantId);
            var stamp = AssistantStamp.Of(assistant);
            due.Clear();
            lock (_gate)
            {
                if (!_byAssistant.TryGetValue(assistantId, out var group))
                {
                    continue;
                }

                var changed = group.Stamp != stamp || group.TokenRefs.Keys.Any(changedTokens.Contains);
                group.Stamp = stamp;
                foreach (var subscriber in changed ? group.Streams : group.Fresh)
                {
                    if (IsFetched(subscriber, fetched))
                    {
                        due.Add(subscriber);
                    }
                }

                // A stream that came with a token opened after the ids were read waits for the next pass: an absent
                // record here would read as "invalid token".
                group.Fresh.RemoveWhere(subscriber => IsFetched(subscriber, fetched));
            }

            var closed = 0;
            string? lastReason = null;
            foreach (var subscriber in due)
            {
                if (Refusal((GuestPrincipal)subscriber.Principal!, assistant, tokens) is { } reason)
                {
                    subscriber.Close(Disconnect.AuthRevoked, detail: reason);
                    closed++;
                    lastReason = reason;
                }
            }

            if (closed > 0)
            {
                GrantLog.StreamsRevoked(logger, closed, assistantId, lastReason!);
            }
        }
    }

    private static bool IsFetched(Subscriber subscriber, HashSet<long> tokenIds) =>
        ((GuestPrincipal)subscriber.Principal!).SiteTokenId is not { } tokenId || tokenIds.Contains(tokenId);

    private string? Refusal(GuestPrincipal guest, AssistantRecord? assistant, Dictionary<long, WidgetTokenRecord> tokens)
    {
        if (guest.SiteTokenId is { } tokenId)
        {
            // The token's own domains never change, so no domain is re-checked: domains_version covers the assistant's edits.
            if (widgetTokens.Refusal(tokens.GetValueOrDefault(tokenId), assistant, domain: null) is { } reason)
            {
                return reason;
            }
        }
        else if (assistant is null)
        {
            return "unknown assistant";
        }
        else if (guest.AdmittedDomain is { } domain && !DomainRules.Matches(domain, DomainRules.Parse(assistant.AllowedDomains), widgetTokens.AllowLocalhost))
        {
            return "domain not allowed";
        }

        return AccessService.IsVerifiedIdentity(assistant!, guest.GuestId, guest.IdentifierHash) ? null : "unverified identity";
    }

    private sealed class AssistantStreams
    {
        public HashSet<Subscriber> Streams { get; } = [];

        /// <summary>Opened since the last pass: checked once against fresh records even when nothing changed.</summary>
        public HashSet<Subscriber> Fresh { get; } = [];

        /// <summary>Site tokens of these streams, with how many streams use each.</summary>
        public Dictionary<long, int> TokenRefs { get; } = [];

        /// <summary>The assistant's record as of the last pass; null before the first.</summary>
        public AssistantStamp? Stamp { get; set; }
    }

    // What of an assistant or a token decides a grant; a record that differs from the last pass re-checks its streams.
    private readonly record struct AssistantStamp(bool Exists, long DomainsVersion, string AllowedDomains, long RequireVerifiedIdentity, string? IdentitySecret)
    {
        public static AssistantStamp Of(AssistantRecord? a) =>
            a is null ? default : new(true, a.DomainsVersion, a.AllowedDomains, a.RequireVerifiedIdentity, a.IdentitySecret);
    }

    private readonly record struct TokenStamp(bool Exists, long? RevokedAt, long DomainsVersion)
    {
        public static TokenStamp Of(WidgetTokenRecord? t) => t is null ? default : new(true, t.RevokedAt, t.DomainsVersion);
    }
}
