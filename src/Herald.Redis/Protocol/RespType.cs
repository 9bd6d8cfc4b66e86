using System.Diagnostics.CodeAnalysis;

namespace Herald.Redis.Protocol;

/// <summary>The RESP2 data types a Redis server replies with.</summary>
public enum RespType : byte
{
    // BulkString is zero so that default(RespValue) is the null bulk string rather than a string with no bytes.

    /// <summary><c>$5\r\nhello\r\n</c>: binary-safe bytes, or <c>$-1\r\n</c> for null.</summary>
    BulkString = 0,

    /// <summary><c>+OK\r\n</c>: a short status text.</summary>
    SimpleString,

    /// <summary><c>-ERR message\r\n</c>: an error reply.</summary>
    Error,

    /// <summary><c>:42\r\n</c>: a signed 64-bit integer.</summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The RESP specification's name.")]
    Integer,

    /// <summary><c>*2\r\n...</c>: a list of values, or <c>*-1\r\n</c> for null.</summary>
    Array,
}
