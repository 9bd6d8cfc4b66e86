using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Herald.Redis.Protocol;

/// <summary>
/// One parsed RESP2 reply: a simple string, an error, an integer, a (nullable) bulk string or a (nullable) array.
/// </summary>
/// <remarks>
/// A small struct: strings are kept as the exact bytes the server sent (decoded only when <see cref="AsString"/> is
/// called), arrays as an array of values. Equality is structural, which keeps tests readable. <c>default</c> is the
/// null bulk string.
/// </remarks>
public readonly struct RespValue : IEquatable<RespValue>
{
    // byte[] for strings and errors, RespValue[] for arrays, null for integers and the two null values.
    private readonly object? _data;
    private readonly long _integer;

    private RespValue(RespType type, object? data, long integer)
    {
        Type = type;
        _data = data;
        _integer = integer;
    }

    /// <summary>The RESP type of this value.</summary>
    public RespType Type { get; }

    /// <summary>True for the null bulk string (<c>$-1</c>) and the null array (<c>*-1</c>).</summary>
    public bool IsNull => _data is null && Type is RespType.BulkString or RespType.Array;

    /// <summary>True when the server replied with an error.</summary>
    public bool IsError => Type == RespType.Error;

    /// <summary>
    /// The raw bytes of a simple string, error or bulk string (empty for a null bulk string). No copy is made, and
    /// common replies such as <c>OK</c> share one array: treat the bytes as read-only, or use <see cref="AsBytes"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is an integer or an array.</exception>
    public ReadOnlyMemory<byte> Memory => Type switch
    {
        RespType.SimpleString or RespType.Error or RespType.BulkString => (byte[]?)_data,
        _ => throw new InvalidOperationException($"A RESP {Type} has no byte content."),
    };

    /// <summary>The elements of an array (empty for a null array).</summary>
    /// <exception cref="InvalidOperationException">The value is not an array.</exception>
    public IReadOnlyList<RespValue> Items => Type == RespType.Array
        ? (RespValue[]?)_data ?? []
        : throw new InvalidOperationException($"A RESP {Type} has no items.");

    /// <summary>Creates a simple string (<c>+text</c>).</summary>
    public static RespValue SimpleString(string text) =>
        new(RespType.SimpleString, Encoding.UTF8.GetBytes(text), 0);

    /// <summary>Creates an error (<c>-text</c>).</summary>
    public static RespValue Error(string text) => new(RespType.Error, Encoding.UTF8.GetBytes(text), 0);

    /// <summary>Creates an integer (<c>:value</c>).</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RESP specification's name.")]
    public static RespValue Integer(long value) => new(RespType.Integer, null, value);

    /// <summary>Creates a bulk string; <see langword="null"/> gives the null bulk string.</summary>
    public static RespValue BulkString(byte[]? bytes) => new(RespType.BulkString, bytes, 0);

    /// <summary>Creates a bulk string holding <paramref name="text"/> as UTF-8.</summary>
    public static RespValue BulkString(string text) => new(RespType.BulkString, Encoding.UTF8.GetBytes(text), 0);

    /// <summary>Creates an array; <see langword="null"/> gives the null array.</summary>
    public static RespValue Array(params RespValue[]? items) => new(RespType.Array, items, 0);

    /// <summary>The null bulk string (<c>$-1</c>), which GET returns for a missing key.</summary>
    public static RespValue NullBulkString => default;

    /// <summary>The null array (<c>*-1</c>).</summary>
    public static RespValue NullArray => new(RespType.Array, null, 0);

    // The parser hands over arrays it allocated itself, so no defensive copy is needed.
    internal static RespValue FromBytes(RespType type, byte[]? bytes) => new(type, bytes, 0);

    internal static RespValue FromItems(RespValue[]? items) => new(RespType.Array, items, 0);

    /// <summary>
    /// The value as text: strings and errors decoded as UTF-8, integers formatted; <see langword="null"/> for the null
    /// bulk string.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is an array.</exception>
    public string? AsString() => Type switch
    {
        RespType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RespType.Array => throw new InvalidOperationException("A RESP array cannot be read as a string."),
        _ => _data is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null,
    };

    /// <summary>The value as an integer: the integer itself, or a simple or bulk string holding digits.</summary>
    /// <exception cref="InvalidOperationException">The value is null, an error, an array, or not an integer.</exception>
    public long AsInt64()
    {
        if (Type == RespType.Integer)
        {
            return _integer;
        }

        if (Type is RespType.SimpleString or RespType.BulkString && _data is byte[] bytes
            && Utf8Parser.TryParse(bytes, out long value, out var consumed) && consumed == bytes.Length)
        {
            return value;
        }

        throw new InvalidOperationException($"The RESP value {this} is not an integer.");
    }

    /// <summary>
    /// A copy of the bytes of a simple string, error or bulk string; <see langword="null"/> for the null bulk string.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is an integer or an array.</exception>
    public byte[]? AsBytes() => IsNull ? null : Memory.ToArray();

    /// <inheritdoc/>
    public bool Equals(RespValue other)
    {
        if (Type != other.Type || _integer != other._integer)
        {
            return false;
        }

        return (_data, other._data) switch
        {
            (null, null) => true,
            (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
            (RespValue[] a, RespValue[] b) => a.AsSpan().SequenceEqual(b),
            _ => false,
        };
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RespValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _data switch
    {
        byte[] bytes => HashCode.Combine(Type, bytes.Length),
        RespValue[] items => HashCode.Combine(Type, items.Length),
        _ => HashCode.Combine(Type, _integer),
    };

    /// <summary>A redis-cli-like rendering for logs and test failures.</summary>
    public override string ToString() => Type switch
    {
        _ when IsNull => "(nil)",
        RespType.SimpleString => AsString()!,
        RespType.Error => "(error) " + AsString(),
        RespType.Integer => "(integer) " + AsString(),
        RespType.BulkString => "\"" + AsString() + "\"",
        _ => "[" + string.Join(", ", (RespValue[])_data!) + "]",
    };

    /// <summary>Structural equality.</summary>
    public static bool operator ==(RespValue left, RespValue right) => left.Equals(right);

    /// <summary>Structural inequality.</summary>
    public static bool operator !=(RespValue left, RespValue right) => !left.Equals(right);
}
