using System.Globalization;
using Herald.Server.Storage;

namespace Herald.Server.Mercure;

/// <summary>
/// Where a Mercure subscriber resumes: the <c>Last-Event-ID</c> header, else the <c>last_event_id</c> query
/// parameter (1.0), else <c>lastEventID</c> (0.x), read into a position of Herald's event sequence — the same on
/// every node, since every node reads the same store.
/// </summary>
/// <remarks>
/// <c>earliest</c> is everything retention kept; <c>#N</c> (an id Herald generated) is event N; any other value is a
/// publisher's id, found by its key, the oldest such update when several share it (the draft's rule). An id the
/// store does not know gives the live stream only, with <c>Mercure-Last-Event-ID: earliest</c>, as the draft says.
/// </remarks>
public sealed class MercureHistory(SqlStore store)
{
    public const string Earliest = "earliest";

    // Updates sharing one custom id that are looked at (a reused id is the publisher's mistake; this bounds its cost).
    private const int MaxSameKey = 64;

    /// <summary>The position to replay after (null: live only), and the <c>Mercure-Last-Event-ID</c> to answer with (null: none requested).</summary>
    public async Task<(long? After, string? Answer)> ResolveAsync(HttpRequest request, CancellationToken ct)
    {
        var requested = request.Headers["Last-Event-ID"].ToString();
        if (requested.Length == 0)
        {
            requested = request.Query["last_event_id"].ToString();
        }

        if (requested.Length == 0)
        {
            requested = request.Query["lastEventID"].ToString();
        }

        if (requested.Length == 0)
        {
            return (null, null);
        }

        if (requested == Earliest)
        {
            // From the retention horizon: below it ReplayService would answer "history_trimmed" instead of what is kept.
            return (await store.GetTrimmedThroughAsync([MercureUpdate.HeraldTopic], ct).ConfigureAwait(false), Earliest);
        }

        if (requested[0] == MercureUpdate.GeneratedIdPrefix
            && long.TryParse(requested.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            return (position, requested);
        }

        var candidates = await store.FindEventsByKeyAsync(MercureUpdate.HeraldTopic, MercureUpdate.KeyOf(requested), MaxSameKey, ct).ConfigureAwait(false);
        foreach (var candidate in candidates)
        {
            if (MercureUpdate.CustomIdOf(candidate.Data) == requested)
            {
                return (candidate.Id, requested);
            }
        }

        return (null, Earliest);
    }
}
