namespace Herald.Server.Backplane;

/// <summary>
/// A topic namespace with a Redis channel namespace of its own: a topic <c>{TopicPrefix}{rest}</c> travels on the
/// channel <c>{ChannelPrefix}{rest}</c>, and back.
/// </summary>
public readonly record struct ChannelMapping(string TopicPrefix, string ChannelPrefix);
