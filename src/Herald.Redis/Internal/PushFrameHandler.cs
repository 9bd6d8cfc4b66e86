using System.Buffers;

namespace Herald.Redis.Internal;

/// <summary>
/// Gets first look at every frame a connection receives; returns true when it consumed the frame (a pub/sub message),
/// false to let the frame be parsed as the reply to the oldest pending command.
/// </summary>
internal delegate bool PushFrameHandler(RedisPhysicalConnection connection, in ReadOnlySequence<byte> frame);
