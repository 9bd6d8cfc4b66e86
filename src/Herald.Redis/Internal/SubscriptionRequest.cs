using System.Buffers;
using Herald.Redis.Protocol;

namespace Herald.Redis.Internal;

/// <summary>
/// SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE or PUNSUBSCRIBE for one or more names. Redis confirms each name with its own
/// push frame (<c>["subscribe", name, count]</c>), in order, so the request completes after as many frames as names.
/// </summary>
internal sealed class SubscriptionRequest : RedisRequest
{
    private readonly string _command;
    private readonly string _kind;
    private readonly string[] _names;
    private int _confirmed;

    public SubscriptionRequest(string command, string[] names)
    {
        _command = command;
        _kind = command.ToLowerInvariant();
        _names = names;
    }

    public override string Command => _command;

    public override void Write(IBufferWriter<byte> writer)
    {
        RespWriter.WriteArrayHeader(writer, _names.Length + 1);
        RespWriter.WriteBulkString(writer, _command);
        foreach (var name in _names)
        {
            RespWriter.WriteBulkString(writer, name);
        }
    }

    public override bool OnReply(in RespValue reply)
    {
        // A refused command (e.g. NOPERM for a channel the ACL user may not use) gets one error, not one per name.
        if (reply.IsError)
        {
            TrySetException(new RedisServerException(reply.AsString() ?? string.Empty));
            return true;
        }

        if (reply.Type != RespType.Array || reply.Items.Count != 3 || reply.Items[0].AsString() != _kind
            || reply.Items[1].AsString() != _names[_confirmed])
        {
            throw new RedisProtocolException(
                $"Expected the confirmation of {_command} {_names[_confirmed]}, received {reply}.");
        }

        if (++_confirmed < _names.Length)
        {
            return false;
        }

        TrySetResult(reply);
        return true;
    }
}
