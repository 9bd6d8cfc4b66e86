using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace Herald.Protocol.Sse;

/// <summary>
/// Reads a <c>text/event-stream</c> body into <see cref="SseEvent"/>s exactly as the WHATWG HTML standard interprets
/// an event stream (<see href="https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation"/>),
/// with hard limits on the size of a line and of an event.
/// </summary>
/// <remarks>
/// <para>
/// Herald's own parser rather than a layer over <c>System.Net.ServerSentEvents.SseParser</c>: that parser yields
/// items, not blocks, so a layer above it cannot see a blank line that dispatched nothing, and the rules that live
/// there are exactly where it departs from the spec: it keeps the event type of a block without data for the next
/// event (<c>event: foo\n\ndata: x\n\n</c> comes out as <c>foo</c>), hands an empty <c>event:</c> value through as
/// an empty type instead of <c>message</c>, attributes a <c>retry</c> or <c>id</c> of a data-less block to the next
/// event, and moves its last event ID when an <c>id</c> line is read rather than when the block ends. Reading the
/// bytes ourselves costs one small state machine and gives every event its own block's <c>id</c> and <c>retry</c>.
/// </para>
/// <para>
/// A CR ending a read is processed at once, and an LF at the start of the next read is then skipped as the second
/// half of a CRLF: a stream that ends its lines with CR alone is not held back waiting for the next byte.
/// </para>
/// <para>Not thread-safe: one reader per stream, one read at a time. The stream is not disposed by the reader.</para>
/// </remarks>
public sealed class SseEventReader : IDisposable
{
    /// <summary>The default of the longest line accepted: 1 MiB.</summary>
    public const int DefaultMaxLineBytes = 1024 * 1024;

    /// <summary>The default of the most bytes one block (all its lines, line ends not counted) may hold: 1 MiB.</summary>
    public const int DefaultMaxEventBytes = 1024 * 1024;

    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const int InitialBufferBytes = 4096;
    private const int MinReadBytes = 512;

    // The largest whole number of milliseconds a TimeSpan holds; a longer retry is saturated to TimeSpan.MaxValue.
    private static readonly long MaxRetryMilliseconds = (long)TimeSpan.MaxValue.TotalMilliseconds;

    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private readonly int _maxEventBytes;

    // Read bytes not yet consumed are _buffer[_start.._end]; the first _searched of them hold no CR or LF.
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _searched;
    private bool _eof;
    private bool _bomChecked;
    private bool _skipLf;

    // Spec: "When a stream is parsed, a data buffer, an event type buffer, and a last event ID buffer must be
    // associated with it." The data buffer is kept as UTF-8 bytes, each data field's value followed by LF; decoding
    // them at dispatch gives what decoding the whole stream first would, because CR, LF and ':' are ASCII and never
    // part of a multi-byte sequence.
    private byte[] _data = [];
    private int _dataLength;
    private string _eventType = "";
    private string _lastEventIdBuffer;

    // Herald's own per-block state: what this block set, so each event carries its own id and retry.
    private string? _blockId;
    private TimeSpan? _blockRetry;
    private long _blockBytes;
    private bool _disposed;

    /// <summary>Creates a reader over an event stream's body.</summary>
    /// <param name="stream">The response body; read asynchronously, never disposed by the reader.</param>
    /// <param name="lastEventId">
    /// The last event ID string to start from: the previous connection's, when this stream resumes one (browsers
    /// keep it across a reconnect the same way). Must not contain NUL, CR or LF. Default empty, as the spec initializes it.
    /// </param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes; a longer one fails the read with <see cref="InvalidDataException"/>.</param>
    /// <param name="maxEventBytes">The most bytes of lines one block may hold before its blank line; more fails the read with <see cref="InvalidDataException"/>.</param>
    public SseEventReader(Stream stream, string? lastEventId = null, int maxLineBytes = DefaultMaxLineBytes, int maxEventBytes = DefaultMaxEventBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLineBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEventBytes);
        lastEventId ??= "";
        if (lastEventId.AsSpan().IndexOfAny('\0', '\r', '\n') >= 0)
        {
            throw new ArgumentException("A last event ID cannot contain NUL, CR or LF.", nameof(lastEventId));
        }

        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _maxEventBytes = maxEventBytes;
        _lastEventIdBuffer = lastEventId;
        LastEventId = lastEventId;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
    }

    /// <summary>
    /// The stream's last event ID string, as EventSource keeps it and sends it as <c>Last-Event-ID</c> when it
    /// reconnects: set at every blank line from the last <c>id</c> field seen, even by a block that dispatches no
    /// event (spec, dispatch step 1), and kept until the server sets it again.
    /// </summary>
    public string LastEventId { get; private set; }

    /// <summary>
    /// The event stream's reconnection time: the last valid <c>retry</c> field read so far, in any block, dispatched
    /// or not; <see langword="null"/> until there is one.
    /// </summary>
    public TimeSpan? ReconnectionTime { get; private set; }

    /// <summary>Reads up to the next dispatched event.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The event, or <see langword="null"/> at the end of the stream (a block the stream ends in is discarded).</returns>
    /// <exception cref="InvalidDataException">A line or a block is longer than the reader's limit.</exception>
    public async ValueTask<SseEvent?> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (TryReadBuffered(out var sseEvent))
            {
                return sseEvent;
            }

            if (_eof)
            {
                // Spec: "Once the end of the file is reached, any pending data must be discarded. (If the file ends in
                // the middle of an event, before the final empty line, the incomplete event is not dispatched.)"
                return null;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads every event until the stream ends.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The events in stream order.</returns>
    /// <exception cref="InvalidDataException">A line or a block is longer than the reader's limit.</exception>
    public async IAsyncEnumerable<SseEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } sseEvent)
        {
            yield return sseEvent;
        }
    }

    /// <summary>Returns the reader's pooled buffers.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        ReturnData();
    }

    private bool TryReadBuffered([NotNullWhen(true)] out SseEvent? sseEvent)
    {
        sseEvent = null;
        if (!_bomChecked)
        {
            // Spec: "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if any." One, and only
            // at the very start: a second BOM, or one later, is U+FEFF in a field name, which matches no field.
            var head = _buffer.AsSpan(_start, _end - _start);
            if (head.Length < Utf8Bom.Length && Utf8Bom.StartsWith(head) && !_eof)
            {
                return false;
            }

            if (head.StartsWith(Utf8Bom))
            {
                _start += Utf8Bom.Length;
            }

            _bomChecked = true;
        }

        while (true)
        {
            if (_skipLf && _start < _end)
            {
                // Spec: a line ends with "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair": the LF
                // after a CR that ended the previous line (perhaps in the previous read) ends no line of its own.
                if (_buffer[_start] == Lf)
                {
                    _start++;
                }

                _skipLf = false;
            }

            var pending = _buffer.AsSpan(_start, _end - _start);
            var found = pending[_searched..].IndexOfAny(Cr, Lf);
            if (found < 0)
            {
                _searched = pending.Length;
                if (pending.Length > _maxLineBytes)
                {
                    throw LineTooLong();
                }

                return false;
            }

            var lineLength = _searched + found;
            if (lineLength > _maxLineBytes)
            {
                throw LineTooLong();
            }

            // Spec: "a single U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN (CR) character,
            // and a single U+000D CARRIAGE RETURN (CR) character not followed by a U+000A LINE FEED (LF) character".
            _skipLf = pending[lineLength] == Cr;
            _start += lineLength + 1;
            _searched = 0;
            if (ProcessLine(pending[..lineLength], out sseEvent))
            {
                return true;
            }
        }
    }

    private bool ProcessLine(ReadOnlySpan<byte> line, [NotNullWhen(true)] out SseEvent? sseEvent)
    {
        sseEvent = null;
        if (line.IsEmpty)
        {
            // Spec: "If the line is empty (a blank line): Dispatch the event".
            return Dispatch(out sseEvent);
        }

        _blockBytes += line.Length;
        if (_blockBytes > _maxEventBytes)
        {
            throw new InvalidDataException($"The event stream sent an event longer than {_maxEventBytes} bytes.");
        }

        if (line[0] == (byte)':')
        {
            // Spec: "If the line starts with a U+003A COLON character (:): Ignore the line."
            return false;
        }

        ReadOnlySpan<byte> field;
        ReadOnlySpan<byte> value;
        var colon = line.IndexOf((byte)':');
        if (colon >= 0)
        {
            // Spec: "Collect the characters on the line before the first U+003A COLON character (:), and let field be
            // that string. Collect the characters on the line after [it], and let value be that string. If value starts
            // with a U+0020 SPACE character, remove it from value."
            field = line[..colon];
            value = line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }
        }
        else
        {
            // Spec: "using the whole line as the field name, and the empty string as the field value."
            field = line;
            value = [];
        }

        // Spec: "Field names must be compared literally, with no case folding performed."
        if (field.SequenceEqual("data"u8))
        {
            // Spec: "Append the field value to the data buffer, then append a single U+000A LINE FEED (LF) character
            // to the data buffer."
            AppendData(value);
        }
        else if (field.SequenceEqual("event"u8))
        {
            // Spec: "Set the event type buffer to the field value."
            _eventType = Encoding.UTF8.GetString(value);
        }
        else if (field.SequenceEqual("id"u8))
        {
            // Spec: "If the field value does not contain U+0000 NULL, then set the last event ID buffer to the field
            // value. Otherwise, ignore the field."
            if (!value.Contains((byte)0))
            {
                _lastEventIdBuffer = _blockId = Encoding.UTF8.GetString(value);
            }
        }
        else if (field.SequenceEqual("retry"u8))
        {
            // Spec: "If the field value consists of only ASCII digits, then interpret the field value as an integer in
            // base ten, and set the event stream's reconnection time to that integer. Otherwise, ignore the field."
            if (TryParseReconnectionTime(value, out var time))
            {
                ReconnectionTime = _blockRetry = time;
            }
        }

        // Spec: "Otherwise: The field is ignored."
        return false;
    }

    private bool Dispatch([NotNullWhen(true)] out SseEvent? sseEvent)
    {
        sseEvent = null;

        // Spec, step 1: "Set the last event ID string of the event source to the value of the last event ID buffer.
        // The buffer does not get reset, so the last event ID string of the event source remains set to this value
        // until the next time it is set by the server." This happens for a block without data too.
        LastEventId = _lastEventIdBuffer;
        var id = _blockId;
        var retry = _blockRetry;
        _blockId = null;
        _blockRetry = null;
        _blockBytes = 0;

        // Step 2: "If the data buffer is an empty string, set the data buffer and the event type buffer to the empty
        // string and return." A data field always appends LF, so only a block without any data field gets here.
        if (_dataLength == 0)
        {
            _eventType = "";
            return false;
        }

        // Step 3: "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last
        // character from the data buffer." It always is.
        var data = Encoding.UTF8.GetString(_data, 0, _dataLength - 1);

        // Steps 5 and 6: the type is "message" unless "the event type buffer has a value other than the empty string".
        var type = _eventType.Length == 0 ? SseEvent.DefaultType : _eventType;

        // Step 7: "Set the data buffer and the event type buffer to the empty string."
        _dataLength = 0;
        _eventType = "";
        if (_data.Length > InitialBufferBytes)
        {
            // A large event's buffer goes back to the pool rather than staying with an idle connection.
            ReturnData();
        }

        sseEvent = new SseEvent(type, data, id, LastEventId, retry);
        return true;
    }

    private void AppendData(ReadOnlySpan<byte> value)
    {
        var needed = _dataLength + value.Length + 1;
        if (needed > _data.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(_data.Length * 2, 256)));
            _data.AsSpan(0, _dataLength).CopyTo(grown);
            ReturnData();
            _data = grown;
        }

        value.CopyTo(_data.AsSpan(_dataLength));
        _dataLength += value.Length;
        _data[_dataLength++] = Lf;
    }

    private void ReturnData()
    {
        if (_data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = [];
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
            if (_buffer.Length > InitialBufferBytes)
            {
                // Back to a small buffer once a long line is consumed: an idle connection holds no large one.
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
            }
        }
        else if (_buffer.Length - _end < MinReadBytes)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_buffer.Length - _end < MinReadBytes)
            {
                // A line longer than the buffer: grow. It cannot grow past the line limit, which throws first.
                var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_buffer.Length * 2, Array.MaxLength));
                _buffer.AsSpan(0, _end).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }
        else
        {
            _end += read;
        }
    }

    private static bool TryParseReconnectionTime(ReadOnlySpan<byte> value, out TimeSpan time)
    {
        time = default;

        // An empty value consists of no digits at all, so there is no integer to interpret (browsers ignore it too).
        if (value.IsEmpty || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            return false;
        }

        long milliseconds = 0;
        foreach (var digit in value)
        {
            milliseconds = (milliseconds * 10) + (digit - '0');
            if (milliseconds > MaxRetryMilliseconds)
            {
                time = TimeSpan.MaxValue;
                return true;
            }
        }

        time = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    private InvalidDataException LineTooLong() => new($"The event stream sent a line longer than {_maxLineBytes} bytes.");

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];
}
