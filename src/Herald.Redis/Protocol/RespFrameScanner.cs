using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace Herald.Redis.Protocol;

/// <summary>
/// Answers "is one whole RESP2 frame buffered, and how long is it?" without allocating or building values, and
/// enforces the protocol limits. Parsing happens afterwards, on exactly that many bytes.
/// </summary>
/// <remarks>
/// The scanner is resumable: when a frame is incomplete it remembers how far it got (the elements it has fully
/// validated and how many are still owed at each nesting level), so a large array arriving over many socket reads is
/// not rescanned from its start every time. It assumes the buffer it is given always starts at the same frame start
/// until it reports a complete frame, which is how a <c>PipeReader</c> loop that only advances past whole frames
/// behaves. A mutable struct: keep it in a field and never copy it.
/// </remarks>
internal struct RespFrameScanner
{
    // A status or error line longer than this is not something Redis sends; refusing it stops a broken peer from
    // making us buffer forever while looking for a CRLF.
    private const int MaxLineLength = 1024 * 1024;

    // Enough digits for any long, plus a sign.
    private const int MaxNumberLength = 20;

    private long _consumed;
    private int _depth;
    private RemainingStack _remaining;

    /// <summary>Forgets any partly scanned frame.</summary>
    public void Reset()
    {
        _consumed = 0;
        _depth = 0;
    }

    /// <summary>
    /// Scans from the start of <paramref name="buffer"/>. Returns true with the frame length when one whole frame is
    /// present (the scanner is then reset for the next frame), false when more bytes are needed.
    /// </summary>
    /// <exception cref="RedisProtocolException">The bytes are not valid RESP2 or exceed a limit.</exception>
    public bool TryScan(in ReadOnlySequence<byte> buffer, out long frameLength)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (_consumed > 0)
        {
            reader.Advance(_consumed);
        }

        while (true)
        {
            if (!reader.TryRead(out var prefix))
            {
                frameLength = 0;
                return false;
            }

            var openedAggregate = false;
            switch (prefix)
            {
                case (byte)'+':
                case (byte)'-':
                    if (!TrySkipLine(ref reader))
                    {
                        frameLength = 0;
                        return false;
                    }

                    break;

                case (byte)':':
                    if (!TryReadNumber(ref reader, out _))
                    {
                        frameLength = 0;
                        return false;
                    }

                    break;

                case (byte)'$':
                    if (!TryReadNumber(ref reader, out var length))
                    {
                        frameLength = 0;
                        return false;
                    }

                    if (length == -1)
                    {
                        break;
                    }

                    ValidateBulkLength(length);
                    if (reader.Remaining < length + 2)
                    {
                        frameLength = 0;
                        return false;
                    }

                    reader.Advance(length);
                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        throw new RedisProtocolException($"A RESP bulk string of {length} bytes is not followed by CRLF.");
                    }

                    break;

                case (byte)'*':
                    if (!TryReadNumber(ref reader, out var count))
                    {
                        frameLength = 0;
                        return false;
                    }

                    ValidateArrayLength(count);
                    if (count > 0)
                    {
                        if (_depth == RespParser.MaxDepth)
                        {
                            throw new RedisProtocolException(
                                $"RESP arrays are nested deeper than {RespParser.MaxDepth} levels.");
                        }

                        _remaining[_depth++] = (int)count;
                        openedAggregate = true;
                    }

                    break;

                default:
                    throw new RedisProtocolException(
                        $"Unexpected RESP type byte 0x{prefix:X2} at offset {reader.Consumed - 1} of a frame.");
            }

            // The element (or array header) is complete: remember it so a later call resumes after it.
            _consumed = reader.Consumed;
            if (!openedAggregate)
            {
                // A leaf element completes its parent when it was the parent's last item, and so on upwards.
                while (_depth > 0 && --_remaining[_depth - 1] == 0)
                {
                    _depth--;
                }

                if (_depth == 0)
                {
                    frameLength = _consumed;
                    Reset();
                    return true;
                }
            }
        }
    }

    internal static void ValidateBulkLength(long length)
    {
        if (length < 0)
        {
            throw new RedisProtocolException($"Invalid RESP bulk string length {length}.");
        }

        if (length > RespParser.MaxBulkLength)
        {
            throw new RedisProtocolException(
                $"A RESP bulk string of {length} bytes exceeds the {RespParser.MaxBulkLength} byte limit.");
        }
    }

    internal static void ValidateArrayLength(long count)
    {
        if (count < -1 || count > int.MaxValue)
        {
            throw new RedisProtocolException($"Invalid RESP array length {count}.");
        }
    }

    /// <summary>Reads the digits up to CRLF. False when the line is not complete yet; the reader is then unusable.</summary>
    internal static bool TryReadNumber(ref SequenceReader<byte> reader, out long value)
    {
        var available = reader.Remaining;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true))
        {
            if (available > MaxNumberLength + 1)
            {
                throw new RedisProtocolException("A RESP length or integer line is too long or not terminated by CRLF.");
            }

            value = 0;
            return false;
        }

        if (line.Length is 0 or > MaxNumberLength)
        {
            throw new RedisProtocolException("A RESP length or integer line is empty or too long.");
        }

        Span<byte> digits = stackalloc byte[MaxNumberLength];
        line.CopyTo(digits);
        digits = digits[..(int)line.Length];
        if (!Utf8Parser.TryParse(digits, out value, out var used) || used != digits.Length)
        {
            throw new RedisProtocolException("A RESP length or integer line does not hold an integer.");
        }

        return true;
    }

    private static bool TrySkipLine(ref SequenceReader<byte> reader)
    {
        var available = reader.Remaining;
        if (reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
        {
            // TryAdvanceTo looks for LF alone; the byte before it must be CR.
            reader.Rewind(2);
            if (!reader.IsNext((byte)'\r', advancePast: false))
            {
                throw new RedisProtocolException("A RESP line ends with LF but not CRLF.");
            }

            reader.Advance(2);
            return true;
        }

        if (available > MaxLineLength)
        {
            throw new RedisProtocolException($"A RESP status or error line is longer than {MaxLineLength} bytes.");
        }

        return false;
    }

    [InlineArray(RespParser.MaxDepth)]
    private struct RemainingStack
    {
        private int _element0;
    }
}
