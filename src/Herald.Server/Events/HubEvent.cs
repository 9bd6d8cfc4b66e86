using System.Diagnostics;
using System.Runtime.CompilerServices;
using Herald.Protocol;

namespace Herald.Server.Events;

/// <summary>
/// One event as it flows through a node: identity, routing, payload and the wire bytes built from them.
/// </summary>
/// <remarks>
/// Each wire form (the SSE frame, the WebSocket/long-poll JSON) is encoded once, on first use, and the same
/// array is written to every connection: nothing per subscriber, and nothing at all for a form no connection
/// asks for (the operators' feed events of a chat message often have no subscriber on this node).
/// </remarks>
public sealed class HubEvent
{
    private byte[]? _wsFrame;
    private byte[]? _sseFrame;
    private object? _decoded;

    // Boxed, and null unless traced (tracing is off by default): an ActivityContext held inline is 40 bytes more in
    // every event, three events per chat message.
    private StrongBox<ActivityContext>? _trace;

    public HubEvent(long id, string topic, string type, ReadOnlyMemory<byte> data, long createdAtMs, long key = 0)
    {
        // Checked here, as the eager encoding used to: a bad name must fail where the event is made, not in a writer.
        if (!ProtocolNames.IsValidEventName(type))
        {
            throw new ArgumentException("Event names are 1-64 characters of letters, digits, '_', '-', '.', ':'.", nameof(type));
        }

        Id = id;
        Topic = topic;
        Type = type;
        Data = data;
        CreatedAtMs = createdAtMs;
        Key = key;
        ReceivedTimestamp = Stopwatch.GetTimestamp();
    }

    // A frame that is not an event (heartbeat, a reply to one connection): only the bytes matter.
    private HubEvent(byte[] sseFrame, byte[]? wsFrame, string type, object? control = null)
    {
        Topic = "";
        Type = type;
        _sseFrame = sseFrame;
        _wsFrame = wsFrame;
        Control = control;
    }

    /// <summary>
    /// An optional number within the topic that connections may filter on without parsing the payload:
    /// the dialog id for events of the operators' feed (<c>dialogs</c>). 0 when unused.
    /// </summary>
    public long Key { get; }

    /// <summary>For items addressed to one connection: what its writer should do (e.g. a subscribe request).</summary>
    internal object? Control { get; }

    /// <summary>Global event id; 0 for ephemeral events, which carry no id and are never replayed.</summary>
    public long Id { get; }

    public string Topic { get; }

    /// <summary>The SSE event name (<c>message</c> for chat messages).</summary>
    public string Type { get; }

    /// <summary>The UTF-8 JSON payload (the SSE <c>data</c>).</summary>
    public ReadOnlyMemory<byte> Data { get; }

    public long CreatedAtMs { get; }

    /// <summary>
    /// The W3C trace context of the span that published this event (<c>herald.publish</c>), or default when the event
    /// is not traced: then fan-out starts no span (see <c>Diagnostics/HeraldTracing</c>). Carried across nodes in the
    /// backplane payload.
    /// </summary>
    internal ActivityContext TraceContext
    {
        get => _trace?.Value ?? default;
        set => _trace = value.TraceId == default ? null : new StrongBox<ActivityContext>(value);
    }

    /// <summary>True when <see cref="TraceContext"/> is set: one reference comparison.</summary>
    internal bool IsTraced => _trace is not null;

    public bool IsDurable => Id > 0;

    /// <summary>The complete SSE frame: <c>id:</c>, <c>event:</c>, <c>data:</c> lines and the blank line.</summary>
    public byte[] SseFrame => Encoded(ref _sseFrame, static e => Herald.Protocol.SseFrame.Encode(e.Id, e.Type, e.Data.Span));

    /// <summary>When this node first saw the event (Stopwatch ticks), for the publish-to-deliver histogram.</summary>
    public long ReceivedTimestamp { get; }

    /// <summary>The JSON text WebSocket and long-poll clients get (see <see cref="Protocol.WsFrame"/>).</summary>
    public byte[] WsFrame => Encoded(ref _wsFrame, static e => Herald.Protocol.WsFrame.Encode(e.Id, e.Type, e.Data.Span));

    // Encodes a wire form on first use. A race encodes twice at worst; the result is identical, so the last writer wins harmlessly.
    private byte[] Encoded(ref byte[]? slot, Func<HubEvent, byte[]> encode)
    {
        var frame = Volatile.Read(ref slot);
        if (frame is null)
        {
            frame = encode(this);
            Volatile.Write(ref slot, frame);
        }

        return frame;
    }

    /// <summary>
    /// The payload as a protocol of its own reads it (a Mercure update: its topics, privacy and frame), decoded on
    /// first use and shared, like the wire forms, by every connection that needs it. One decoding per event: an event
    /// is read through one protocol only (its topic belongs to one area).
    /// </summary>
    public T Decoded<T>(Func<HubEvent, T> decode)
        where T : class
    {
        if (Volatile.Read(ref _decoded) is T known)
        {
            return known;
        }

        var value = decode(this);
        Volatile.Write(ref _decoded, value);
        return value;
    }

    /// <summary>
    /// Bytes this event stands for in a connection's queue: the payload plus room for the field names. Not the
    /// encoded frame's length — the frame is encoded on first use, and a size that changed between an event's
    /// enqueue and its dequeue would make the queue's byte count drift.
    /// </summary>
    public int Size => Data.Length + Type.Length + 40;

    /// <summary>The shared heartbeat item queued to idle connections.</summary>
    internal static HubEvent Heartbeat { get; } = new(Herald.Protocol.SseFrame.Heartbeat.ToArray(), null, "heartbeat");

    internal bool IsHeartbeat => ReferenceEquals(this, Heartbeat);

    /// <summary>A WebSocket text frame for one connection only (a pong, an acknowledgement, an error).</summary>
    internal static HubEvent Direct(byte[] wsText, object? control = null) => new([], wsText, "direct", control);

    internal bool IsDirect => Type == "direct" && Topic.Length == 0;
}
