namespace Herald.Bench.Targets;

/// <summary>What a scenario's channels are for: plain pub/sub topics, or chat dialogs.</summary>
internal enum ChannelKind
{
    /// <summary>Topics: subscribe to a name, publish to it.</summary>
    Topic,

    /// <summary>
    /// Chat dialogs: on Herald, real dialogs with a guest and an operator stream each, messages posted through
    /// the chat POST (stored in SQLite before delivery); elsewhere the same as topics.
    /// </summary>
    Dialog,
}
