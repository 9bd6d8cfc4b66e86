using System.Diagnostics;

namespace Herald.Server.Diagnostics;

/// <summary>
/// Herald's <see cref="ActivitySource"/> (<c>Herald</c>): one message's path as spans — <c>herald.commit</c> (its
/// store transaction), <c>herald.publish</c> (handed to the backplane) and, on every node, <c>herald.deliver</c> (fanned
/// out to that node's subscribers), with the W3C trace context carried in the backplane payload.
/// </summary>
/// <remarks>
/// <para>Nothing is traced unless a listener is attached (the OpenTelemetry SDK, when <c>OTEL_EXPORTER_OTLP_*</c> is
/// set): a write command captures its caller's context only when <see cref="Enabled"/>, and an event without a
/// context costs the fan-out one field test per event, never anything per delivery.</para>
/// <para>There is no span per delivery per connection: at a fan-out of 10,000 that would be 10,000 spans per message.
/// A node's <c>herald.deliver</c> carries the count it queued to and, for a topic of at most
/// <see cref="MaxSubscriberEvents"/> connections, one span event per connection (its transport and address).</para>
/// </remarks>
public static class HeraldTracing
{
    public const string SourceName = "Herald";

    /// <summary>Up to this many subscribers of a traced event's topic are listed as span events on <c>herald.deliver</c>.</summary>
    public const int MaxSubscriberEvents = 32;

    public static ActivitySource Source { get; } = new(SourceName);

    /// <summary>True while some listener (an OpenTelemetry tracer provider) listens to <see cref="Source"/>.</summary>
    public static bool Enabled => Source.HasListeners();
}
