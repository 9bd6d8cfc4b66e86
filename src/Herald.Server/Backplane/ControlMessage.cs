namespace Herald.Server.Backplane;

/// <summary>
/// A command for every node: <c>disconnect</c> closes the connections of <see cref="Subject"/> (a presence subject key,
/// <c>kind:id</c>), only those subscribed to <see cref="Topic"/> when one is given.
/// </summary>
/// <remarks>On Redis it travels as JSON on the control channel (<see cref="RedisChannels.ControlChannel"/>):
/// <c>{"type":"disconnect","subject":"guest:g-1","topic":null,"node":"a1b2"}</c>.</remarks>
public sealed record ControlMessage(string Type, string Subject, string? Topic)
{
    public const string DisconnectType = "disconnect";
}
