using System.Buffers;
using Herald.Redis.Protocol;

namespace Herald.Redis.Internal;

/// <summary>An ordinary command: one request, one reply.</summary>
internal sealed class CommandRequest(string command, object[] args) : RedisRequest
{
    public override string Command => command;

    public override void Write(IBufferWriter<byte> writer) => RespWriter.WriteCommand(writer, command, args);

    public override bool OnReply(in RespValue reply)
    {
        if (reply.IsError)
        {
            TrySetException(new RedisServerException(reply.AsString() ?? string.Empty));
        }
        else
        {
            TrySetResult(reply);
        }

        return true;
    }
}
