using Herald.Server.Events;

namespace Herald.Server.Backplane;

/// <summary>
/// Where a bus hands the events it carries on this node: the pipeline's dispatcher, which delivers them to
/// subscribers once and in id order. The bus carries events; what happens to them next is not its business.
/// </summary>
/// <remarks>
/// A bus that carries only the topics the node wants (<c>Herald:Redis:Subscribe=interest</c>) asks the sink which those
/// are (<see cref="Interests"/>, <see cref="InterestChanged"/>, <see cref="Wants"/>) and tells it of every other
/// committed id by its commit marker (<see cref="Cover"/>).
/// </remarks>
public interface IEventSink
{
    /// <summary>Takes one event (durable or ephemeral) from the bus. Must not block.</summary>
    void Deliver(HubEvent item);

    /// <summary>Takes a commit marker: ids <paramref name="firstId"/> onwards committed, one per topic given. Must not block.</summary>
    void Cover(long firstId, IReadOnlyList<string> topics);

    /// <summary>True when this node has a subscriber of <paramref name="topic"/>.</summary>
    bool Wants(string topic);

    /// <summary>The topics this node has subscribers of now.</summary>
    IReadOnlyCollection<string> Interests { get; }

    /// <summary>Raised when a topic may have gained its first or lost its last subscriber (check <see cref="Wants"/>). Must not block.</summary>
    event Action<string>? InterestChanged;
}
