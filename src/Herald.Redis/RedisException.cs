namespace Herald.Redis;

/// <summary>The base of every exception this client throws for a Redis-related failure.</summary>
public class RedisException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the failure that caused it.</summary>
    public RedisException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
