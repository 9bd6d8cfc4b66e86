using System.Text;
using Herald.Server.Events;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

internal static class HubEventRecords
{
    /// <summary>Rebuilds the live event from its stored row (replay, catch-up).</summary>
    public static HubEvent ToHubEvent(this EventRecord record) =>
        new(record.Id, record.Topic, record.Type, Encoding.UTF8.GetBytes(record.Data), record.CreatedAt, record.EventKey);
}
