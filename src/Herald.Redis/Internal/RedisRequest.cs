using System.Buffers;
using Herald.Redis.Protocol;

namespace Herald.Redis.Internal;

/// <summary>
/// A command on its way to the server and the promise of its reply. Deriving from the completion source keeps a
/// command to one allocation besides its arguments.
/// </summary>
internal abstract class RedisRequest : TaskCompletionSource<RespValue>
{
    // Continuations run on the thread pool, never inline on the connection's read loop, so a slow caller cannot
    // stall every other reply.
    protected RedisRequest()
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
    }

    /// <summary>The command name, for error messages.</summary>
    public abstract string Command { get; }

    /// <summary>Encodes the request. Called once, by the connection's single writer.</summary>
    public abstract void Write(IBufferWriter<byte> writer);

    /// <summary>
    /// Takes one reply frame addressed to this request; returns true when the request expects no more frames.
    /// </summary>
    public abstract bool OnReply(in RespValue reply);
}
