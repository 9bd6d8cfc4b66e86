namespace Herald.Client.Internal;

internal sealed record PollHead(long LastEventId);
