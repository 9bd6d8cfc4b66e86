namespace Herald.Redis;

/// <summary>Raised when a connection is lost or restored.</summary>
public sealed class RedisConnectionStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event data.</summary>
    public RedisConnectionStateChangedEventArgs(bool isConnected, Exception? error)
    {
        IsConnected = isConnected;
        Error = error;
    }

    /// <summary>True when the connection was (re)established, false when it was lost.</summary>
    public bool IsConnected { get; }

    /// <summary>Why the connection was lost; <see langword="null"/> when it was established.</summary>
    public Exception? Error { get; }
}
