using System.Text.Json;
using Herald.Server.Api;
using Herald.Server.Diagnostics;
using Herald.Server.Events;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Microsoft.Extensions.Options;

namespace Herald.Server.Hub;

/// <summary>
/// Answers "what did I miss after event N?" for every transport: the stored events of the caller's topics
/// after N, or a <c>reset</c> when the store cannot answer truthfully.
/// </summary>
/// <remarks>
/// Reset cases: N is beyond the newest event (a position from another database, or a reset store), N is
/// below what retention has removed from one of the topics, or more than the replay limit is missing.
/// In each case the client is told to reload its history rather than silently continuing with a hole.
/// </remarks>
public sealed class ReplayService(SqlStore store, IOptions<HeraldOptions> options, HeraldMetrics metrics)
{
    private const int Page = 500;

    private readonly int _maxReplay = options.Value.Streams.MaxReplayEvents;

    /// <summary>Reads everything after <paramref name="afterId"/> in pages, or decides on a reset.</summary>
    public async Task<ReplayResult> ReadAsync(IReadOnlyList<string> topics, long afterId, CancellationToken ct, bool countAsResume = true)
    {
        if (countAsResume)
        {
            metrics.Resumes.Add(1);
        }

        var head = await store.GetLastEventIdAsync(ct);
        if (afterId > head)
        {
            return Reset("unknown_position", head);
        }

        if (afterId < await store.GetTrimmedThroughAsync(topics, ct))
        {
            return Reset("history_trimmed", head);
        }

        var events = new List<HubEvent>();
        var after = afterId;
        while (true)
        {
            var page = await store.ReadEventsAsync(topics, after, Page, ct);
            foreach (var record in page)
            {
                events.Add(record.ToHubEvent());
            }

            if (events.Count > _maxReplay)
            {
                return Reset("too_far_behind", head);
            }

            if (page.Count < Page)
            {
                break;
            }

            after = page[^1].Id;
        }

        if (countAsResume)
        {
            metrics.ReplayedEvents.Add(events.Count);
        }

        return new ReplayResult(events, null);
    }

    private ReplayResult Reset(string reason, long head)
    {
        metrics.Resets.Add(1);
        var data = JsonSerializer.SerializeToUtf8Bytes(new ResetData(reason, head), HeraldJson.Options);
        return new ReplayResult([], new HubEvent(head, "", "reset", data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
    }

    private sealed record ResetData(string Reason, long LastEventId);
}
