namespace Herald.Redis;

/// <summary>
/// The connection could not be established, was lost, or is down while the client reconnects in the background.
/// </summary>
/// <remarks>
/// A command that fails with this exception may or may not have been executed by the server (it may have been
/// written before the socket died), so only retry commands that are safe to repeat.
/// </remarks>
public class RedisConnectionException : RedisException
{
    /// <summary>Creates the exception.</summary>
    public RedisConnectionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the failure that caused it.</summary>
    public RedisConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
