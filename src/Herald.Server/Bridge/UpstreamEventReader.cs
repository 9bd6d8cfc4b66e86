using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;

namespace Herald.Server.Bridge;

/// <summary>One dispatched SSE event in the shape of the seed's <c>sse-event</c> payload.</summary>
/// <param name="Id">The <c>id</c> field of this event, or <see langword="null"/> when the event had none.</param>
/// <param name="Event">The event type; <c>message</c> when the event had no <c>event</c> field.</param>
/// <param name="Data">The data lines joined with LF.</param>
/// <param name="Retry">The <c>retry</c> field of this event in milliseconds, as the seed shows it ("5000"), or <see langword="null"/>.</param>
internal sealed record UpstreamEvent(string? Id, string Event, string Data, string? Retry);

/// <summary>
/// Reads an event stream with <see cref="SseParser"/>, which implements the WHATWG parsing rules (CR / LF /
/// CRLF, a leading BOM, comments, digit-only <c>retry</c>, NUL-free <c>id</c>, no dispatch of an event that
/// the stream ends in the middle of), and keeps the two values a reconnect needs.
/// </summary>
internal sealed class UpstreamEventReader(Stream stream)
{
    // Spec: "the stream must be decoded as UTF-8" — invalid sequences become U+FFFD, as a browser does.
    private readonly SseParser<string> _parser = SseParser.Create(stream, static (_, data) => Encoding.UTF8.GetString(data));

    /// <summary>
    /// The last event ID string as EventSource keeps it: updated when an event is dispatched, from the id buffer
    /// that persists across events, and sent as <c>Last-Event-ID</c> when reconnecting. <see langword="null"/>
    /// until the first event is dispatched (the previous connection's value then still holds); empty after <c>id:</c>
    /// with no value, which per the spec resets it.
    /// </summary>
    public string? LastEventId { get; private set; }

    /// <summary>The last <c>retry</c> the server sent on this connection (even on an event that was never dispatched).</summary>
    public TimeSpan? ReconnectionInterval => _parser.ReconnectionInterval == Timeout.InfiniteTimeSpan ? null : _parser.ReconnectionInterval;

    public async IAsyncEnumerable<UpstreamEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in _parser.EnumerateAsync(cancellationToken))
        {
            LastEventId = _parser.LastEventId;
            yield return new UpstreamEvent(
                item.EventId,
                item.EventType,
                item.Data,
                item.ReconnectionInterval is { } retry ? ((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : null);
        }
    }
}
