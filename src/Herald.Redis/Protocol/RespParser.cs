using System.Buffers;

namespace Herald.Redis.Protocol;

/// <summary>
/// Parses RESP2 replies from buffered bytes in two steps: <see cref="TryScan"/> decides whether one whole frame is
/// buffered (no allocation), then the frame is turned into a <see cref="RespValue"/>.
/// </summary>
/// <remarks>
/// Splitting the two means an incomplete frame costs a scan and nothing else, and that a hostile length prefix can
/// never make us allocate more than the bytes that actually arrived.
/// </remarks>
public static class RespParser
{
    /// <summary>The deepest array nesting accepted; deeper frames are rejected with <see cref="RedisProtocolException"/>.</summary>
    public const int MaxDepth = 32;

    /// <summary>The largest bulk string accepted (512 MB, the Redis limit); larger ones are rejected.</summary>
    public const long MaxBulkLength = 512L * 1024 * 1024;

    private static readonly byte[] Ok = "OK"u8.ToArray();
    private static readonly byte[] Pong = "PONG"u8.ToArray();
    private static readonly byte[] Queued = "QUEUED"u8.ToArray();

    /// <summary>
    /// Parses one frame from the start of <paramref name="buffer"/>. On success <paramref name="buffer"/> is sliced past
    /// the frame; when the frame is incomplete it returns false and leaves <paramref name="buffer"/> untouched.
    /// </summary>
    /// <exception cref="RedisProtocolException">The bytes are not valid RESP2 or exceed a limit.</exception>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out RespValue value)
    {
        var scanner = default(RespFrameScanner);
        if (!scanner.TryScan(buffer, out var length))
        {
            value = default;
            return false;
        }

        value = ParseFrame(buffer.Slice(0, length));
        buffer = buffer.Slice(length);
        return true;
    }

    /// <summary>
    /// Reports whether one whole frame is at the start of <paramref name="buffer"/>, and its length in bytes, without
    /// allocating.
    /// </summary>
    /// <exception cref="RedisProtocolException">The bytes are not valid RESP2 or exceed a limit.</exception>
    public static bool TryScan(in ReadOnlySequence<byte> buffer, out long frameLength)
    {
        var scanner = default(RespFrameScanner);
        return scanner.TryScan(buffer, out frameLength);
    }

    /// <summary>Builds the value of a frame that <see cref="RespFrameScanner"/> has already validated.</summary>
    internal static RespValue ParseFrame(in ReadOnlySequence<byte> frame)
    {
        var reader = new SequenceReader<byte>(frame);
        return ReadValue(ref reader);
    }

    private static RespValue ReadValue(ref SequenceReader<byte> reader)
    {
        reader.TryRead(out var prefix);
        switch (prefix)
        {
            case (byte)'+':
                return RespValue.FromBytes(RespType.SimpleString, ReadLine(ref reader));

            case (byte)'-':
                return RespValue.FromBytes(RespType.Error, ReadLine(ref reader));

            case (byte)':':
                RespFrameScanner.TryReadNumber(ref reader, out var integer);
                return RespValue.Integer(integer);

            case (byte)'$':
                RespFrameScanner.TryReadNumber(ref reader, out var length);
                if (length < 0)
                {
                    return RespValue.NullBulkString;
                }

                var bytes = length == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)length);
                reader.TryCopyTo(bytes);
                reader.Advance(length + 2);
                return RespValue.FromBytes(RespType.BulkString, bytes);

            case (byte)'*':
                RespFrameScanner.TryReadNumber(ref reader, out var count);
                if (count < 0)
                {
                    return RespValue.NullArray;
                }

                var items = count == 0 ? [] : new RespValue[count];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = ReadValue(ref reader);
                }

                return RespValue.FromItems(items);

            default:
                // Unreachable for scanned frames; kept so a misuse fails loudly instead of returning garbage.
                throw new RedisProtocolException($"Unexpected RESP type byte 0x{prefix:X2}.");
        }
    }

    private static byte[] ReadLine(ref SequenceReader<byte> reader)
    {
        reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true);
        if (line.IsSingleSegment)
        {
            // The replies to SET, PING and MULTI are the bulk of status lines; sharing their bytes saves an allocation.
            var span = line.FirstSpan;
            if (span.SequenceEqual(Ok))
            {
                return Ok;
            }

            if (span.SequenceEqual(Pong))
            {
                return Pong;
            }

            if (span.SequenceEqual(Queued))
            {
                return Queued;
            }
        }

        return line.ToArray();
    }
}
