namespace Herald.Redis;

/// <summary>
/// The bytes received are not valid RESP2, or break a limit (a bulk string over 512 MB, nesting deeper than 32).
/// The connection that received them is closed, since the stream can no longer be trusted.
/// </summary>
public class RedisProtocolException : RedisException
{
    /// <summary>Creates the exception.</summary>
    public RedisProtocolException(string message)
        : base(message)
    {
    }
}
