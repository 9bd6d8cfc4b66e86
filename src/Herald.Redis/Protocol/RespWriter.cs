using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Herald.Redis.Protocol;

/// <summary>
/// Encodes commands as RESP2 arrays of bulk strings (the only request form Redis needs) into an
/// <see cref="IBufferWriter{T}"/>, without intermediate buffers.
/// </summary>
public static class RespWriter
{
    // '$' or '*', up to 20 digits, CRLF.
    private const int MaxHeaderLength = 24;

    // Large payloads are copied in pieces so the writer can hand out pooled segments instead of one huge span.
    private const int CopyChunk = 16 * 1024;

    /// <summary>
    /// Writes <c>command</c> followed by <paramref name="args"/> as one RESP array of bulk strings. Supported argument
    /// types: <see cref="string"/> (UTF-8), <c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/> and
    /// <see cref="Memory{T}"/> of bytes, <see cref="long"/> and <see cref="int"/> (as decimal text).
    /// </summary>
    /// <exception cref="ArgumentException">An argument is null or of an unsupported type.</exception>
    public static void WriteCommand(IBufferWriter<byte> writer, string command, params ReadOnlySpan<object> args)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(command);

        // Validate first so a bad argument never leaves half a command in the writer.
        ValidateArguments(args);
        WriteArrayHeader(writer, args.Length + 1);
        WriteBulkString(writer, command);
        foreach (var arg in args)
        {
            WriteArgument(writer, arg);
        }
    }

    /// <summary>Writes <c>*count\r\n</c>.</summary>
    public static void WriteArrayHeader(IBufferWriter<byte> writer, int count) => WriteHeader(writer, (byte)'*', count);

    /// <summary>Writes <paramref name="value"/> as a bulk string.</summary>
    public static void WriteBulkString(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        WriteHeader(writer, (byte)'$', value.Length);
        while (value.Length > 0)
        {
            var span = writer.GetSpan(Math.Min(value.Length, CopyChunk));
            var n = Math.Min(span.Length, value.Length);
            value[..n].CopyTo(span);
            writer.Advance(n);
            value = value[n..];
        }

        WriteCrlf(writer);
    }

    /// <summary>Writes <paramref name="value"/> as a UTF-8 bulk string.</summary>
    public static void WriteBulkString(IBufferWriter<byte> writer, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        WriteHeader(writer, (byte)'$', Encoding.UTF8.GetByteCount(value));
        Encoding.UTF8.GetBytes(value.AsSpan(), writer);
        WriteCrlf(writer);
    }

    /// <summary>Writes <paramref name="value"/> as a bulk string of its decimal digits, which is how Redis takes numbers.</summary>
    public static void WriteBulkString(IBufferWriter<byte> writer, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var n);
        WriteBulkString(writer, digits[..n]);
    }

    /// <summary>True when <see cref="WriteCommand"/> can encode <paramref name="arg"/>.</summary>
    public static bool IsSupportedArgument(object? arg) =>
        arg is string or byte[] or ReadOnlyMemory<byte> or Memory<byte> or long or int;

    internal static void ValidateArguments(ReadOnlySpan<object> args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!IsSupportedArgument(args[i]))
            {
                throw new ArgumentException(
                    args[i] is null
                        ? $"Argument {i} is null; Redis has no null argument."
                        : $"Argument {i} has type {args[i].GetType()}; use string, byte[], ReadOnlyMemory<byte>, long or int.",
                    nameof(args));
            }
        }
    }

    private static void WriteArgument(IBufferWriter<byte> writer, object arg)
    {
        switch (arg)
        {
            case string text:
                WriteBulkString(writer, text);
                break;
            case byte[] bytes:
                WriteBulkString(writer, bytes.AsSpan());
                break;
            case ReadOnlyMemory<byte> memory:
                WriteBulkString(writer, memory.Span);
                break;
            case Memory<byte> memory:
                WriteBulkString(writer, memory.Span);
                break;
            case long number:
                WriteBulkString(writer, number);
                break;
            case int number:
                WriteBulkString(writer, number);
                break;
            default:
                throw new ArgumentException($"Unsupported argument type {arg.GetType()}.", nameof(arg));
        }
    }

    private static void WriteHeader(IBufferWriter<byte> writer, byte prefix, long length)
    {
        var span = writer.GetSpan(MaxHeaderLength);
        span[0] = prefix;
        Utf8Formatter.TryFormat(length, span[1..], out var n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        writer.Advance(n + 3);
    }

    private static void WriteCrlf(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)'\r';
        span[1] = (byte)'\n';
        writer.Advance(2);
    }
}
