using System.Text;
using Herald.Server.Events;
using Herald.Server.Pipeline;

namespace Herald.Server.Mercure;

/// <summary>
/// A Mercure subscriber's view of the hub's one Herald topic: the updates one of its selectors matches, private
/// ones only when its token grants one of their topics, each written as Mercure frames it. Everything else the
/// stream carries (heartbeats, Herald's own <c>auth-expiring</c> and <c>disconnect</c>) passes as it is.
/// </summary>
internal sealed class MercureView(IReadOnlyList<TopicSelector> selectors, MercureGrants? grants, string hubUrl,
    MercureSubscriptions? subscriptions = null, string hubPath = MercureEndpoints.Path) : EventView
{
    private MercureSubscriptions.Connection? _connection;

    // Subscriptions exist from the moment the stream receives events until it is unregistered (Herald:Mercure:Subscriptions).
    public override void Opened(Subscriber subscriber)
    {
        if (subscriptions is { Enabled: true })
        {
            _connection = subscriptions.Open(hubPath, selectors, grants?.Payload);
        }
    }

    public override void Closed(Subscriber subscriber)
    {
        if (Interlocked.Exchange(ref _connection, null) is { } connection)
        {
            subscriptions!.Close(connection);
        }
    }

    public override bool Accepts(HubEvent item)
    {
        if (item.Type != MercureUpdate.EventType || item.Topic != MercureUpdate.HeraldTopic)
        {
            return true;
        }

        var update = MercureUpdate.Of(item);
        return TopicSelector.AnyMatches(selectors, update.Topics, hubUrl)
            && (!update.IsPrivate || (grants is not null && grants.CanSubscribe(update.Topics, hubUrl)));
    }

    public override byte[] SseFrame(HubEvent item)
    {
        if (item.Type == MercureUpdate.EventType && item.Topic == MercureUpdate.HeraldTopic)
        {
            return MercureUpdate.Of(item).Frame;
        }

        // Herald's reset (the history cannot answer: trimmed, too far behind, unknown position) keeps its meaning, but
        // with the position in Mercure's form, so the client's next Last-Event-ID is one this hub reads back.
        return item.Type == "reset" && item.IsDurable
            ? Encoding.UTF8.GetBytes($"id: {MercureUpdate.IdOf(item.Id, null)}\nevent: reset\ndata: {Encoding.UTF8.GetString(item.Data.Span)}\n\n")
            : item.SseFrame;
    }
}
