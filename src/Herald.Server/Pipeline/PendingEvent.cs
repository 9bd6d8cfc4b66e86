using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>An event emitted by a command, waiting for its batch to commit.</summary>
public sealed class PendingEvent(string topic, string type, byte[] data, long key) : INewEvent
{
    public long Key { get; } = key;
    public string Topic { get; } = topic;
    public string Type { get; } = type;
    public byte[] Data { get; } = data;

    /// <summary>The event id, assigned at commit; 0 until then.</summary>
    public long Id { get; internal set; }

    /// <summary>The emitting command's <see cref="WriteCommand.TraceParent"/>.</summary>
    internal System.Runtime.CompilerServices.StrongBox<System.Diagnostics.ActivityContext>? TraceParent { get; init; }
}
