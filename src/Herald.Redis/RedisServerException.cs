namespace Herald.Redis;

/// <summary>The server answered a command with an error reply; <see cref="Exception.Message"/> is its text.</summary>
public class RedisServerException : RedisException
{
    /// <summary>Creates the exception from the error text the server sent, e.g. <c>WRONGTYPE Operation against...</c>.</summary>
    public RedisServerException(string message)
        : base(message)
    {
        var space = message.IndexOf(' ', StringComparison.Ordinal);
        ErrorCode = space > 0 ? message[..space] : message;
    }

    /// <summary>The first word of the error, by Redis convention its kind: <c>ERR</c>, <c>WRONGPASS</c>, <c>NOAUTH</c>...</summary>
    public string ErrorCode { get; }
}
