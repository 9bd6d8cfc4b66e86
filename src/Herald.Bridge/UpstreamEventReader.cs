using System.Globalization;
using System.Runtime.CompilerServices;
using Herald.Protocol.Sse;

namespace Herald.Bridge;

/// <summary>
/// Reads an upstream event stream with Herald's <see cref="SseEventReader"/> (the WHATWG interpretation rules to the
/// letter) and keeps the two values a reconnect needs.
/// </summary>
internal sealed class UpstreamEventReader : IDisposable
{
    private readonly SseEventReader _reader;
    private readonly int _maxEventBytes;

    /// <param name="stream">The upstream body.</param>
    /// <param name="lastEventId">The last event ID string of the previous connection of this stream, if any.</param>
    /// <param name="maxEventBytes"><c>proxy.limits.maxEventBytes</c>: the longest line and the largest event.</param>
    public UpstreamEventReader(Stream stream, string? lastEventId = null, int maxEventBytes = SseEventReader.DefaultMaxEventBytes)
    {
        _reader = new SseEventReader(stream, lastEventId, maxEventBytes, maxEventBytes);
        _maxEventBytes = maxEventBytes;
    }

    /// <summary>
    /// The last event ID string as EventSource keeps it and sends it as <c>Last-Event-ID</c> when reconnecting: set at
    /// every blank line, also one ending a block without data, from the id buffer that persists across events;
    /// empty after <c>id:</c> with no value, which per the spec resets it.
    /// </summary>
    public string LastEventId => _reader.LastEventId;

    /// <summary>The last <c>retry</c> the server sent on this connection (even in a block that dispatched nothing).</summary>
    public TimeSpan? ReconnectionInterval => _reader.ReconnectionTime;

    public async IAsyncEnumerable<UpstreamEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            SseEvent? sseEvent;
            try
            {
                sseEvent = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException)
            {
                throw new BridgeUpstreamException(
                    $"The SSE server sent a line or event larger than {_maxEventBytes} bytes (proxy.limits.maxEventBytes).");
            }

            if (sseEvent is null)
            {
                yield break;
            }

            yield return new UpstreamEvent(
                sseEvent.Id,
                sseEvent.Type,
                sseEvent.Data,
                sseEvent.Retry is { } retry ? ((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : null);
        }
    }

    public void Dispose() => _reader.Dispose();
}
