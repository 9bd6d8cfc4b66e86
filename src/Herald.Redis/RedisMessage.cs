namespace Herald.Redis;

/// <summary>One pub/sub message received by a <see cref="RedisSubscriber"/>.</summary>
/// <param name="Channel">The channel it was published to.</param>
/// <param name="Pattern">The PSUBSCRIBE pattern that matched it, or <see langword="null"/> for a plain SUBSCRIBE.</param>
/// <param name="Payload">The published bytes; a private copy the receiver may keep.</param>
public readonly record struct RedisMessage(string Channel, string? Pattern, ReadOnlyMemory<byte> Payload);
