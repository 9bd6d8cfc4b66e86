namespace Herald.Redis.Internal;

/// <summary>What happened to a request handed to <see cref="RedisPhysicalConnection.TrySend"/>.</summary>
internal enum SendResult
{
    /// <summary>Queued for writing; its task completes with the reply or a failure.</summary>
    Sent,

    /// <summary>The connection is closed; the request was not queued.</summary>
    Closed,

    /// <summary>Too many requests are pending; the request was not queued.</summary>
    Overloaded,
}
