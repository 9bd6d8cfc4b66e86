namespace Herald.Server.Storage;

/// <summary>
/// An event for <see cref="SqlStore.StoreEventsAndCommitAsync"/> to store: its row but the id and the time, which
/// the batch hands out. The store knows events only as rows; the pipeline's pending event is one.
/// </summary>
public interface INewEvent
{
    string Topic { get; }

    /// <summary>The SSE event name.</summary>
    string Type { get; }

    /// <summary>UTF-8 JSON payload.</summary>
    byte[] Data { get; }

    /// <summary>Optional filter key within the topic; 0 when unused.</summary>
    long Key { get; }
}
