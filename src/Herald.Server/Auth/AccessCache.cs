using System.Collections.Concurrent;
using Herald.Server.Storage;

namespace Herald.Server.Auth;

/// <summary>
/// The two lookups every guest request makes, kept in memory so that a chat POST or a stream does not open
/// two database connections before it does any work: a dialog's owner (kept for good — a dialog never changes
/// hands and is never deleted, so the fact cannot go stale on any node) and an assistant's settings (kept for
/// <see cref="WidgetTokenService.CacheFor"/>, like widget tokens: a change of allowed domains or of the identity
/// rule applies on this node at once and on every other node within that time).
/// </summary>
public sealed class AccessCache(SqlStore store, TimeProvider time)
{
    private const int MaxDialogs = 200_000;
    private const int MaxAssistants = 10_000;

    private readonly ConcurrentDictionary<long, DialogOwner> _dialogs = new();
    private readonly ConcurrentDictionary<long, (AssistantRecord Record, long At)> _assistants = new();

    /// <summary>The dialog's owner, or null when no such dialog exists (misses are not cached: it may be created on another node).</summary>
    public async ValueTask<DialogOwner?> GetDialogOwnerAsync(long dialogId, CancellationToken ct)
    {
        if (_dialogs.TryGetValue(dialogId, out var owner))
        {
            return owner;
        }

        if (await store.GetDialogAsync(dialogId, ct) is not { } dialog)
        {
            return null;
        }

        owner = new DialogOwner(dialog.Id, dialog.AssistantId, dialog.GuestId);
        _dialogs.SetBounded(dialogId, owner, MaxDialogs);
        return owner;
    }

    /// <summary>The assistant as stored at most <see cref="WidgetTokenService.CacheFor"/> ago, or null when it does not exist.</summary>
    public async ValueTask<AssistantRecord?> GetAssistantAsync(long assistantId, CancellationToken ct)
    {
        if (_assistants.TryGetValue(assistantId, out var entry) && time.GetElapsedTime(entry.At) <= WidgetTokenService.CacheFor)
        {
            return entry.Record;
        }

        var fetchedAt = time.GetTimestamp();
        if (await store.GetAssistantAsync(assistantId, ct) is not { } assistant)
        {
            return null;
        }

        _assistants.SetBounded(assistantId, (assistant, fetchedAt), MaxAssistants);
        return assistant;
    }

    /// <summary>Forgets an assistant changed on this node, so its new settings apply here from the next request.</summary>
    public void InvalidateAssistant(long assistantId) => _assistants.TryRemove(assistantId, out _);
}
