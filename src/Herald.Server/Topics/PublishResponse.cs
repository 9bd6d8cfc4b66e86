namespace Herald.Server.Topics;

/// <summary>What a publish answers: the event id (null for an ephemeral event), its topic and name.</summary>
public sealed record PublishResponse(long? Id, string Topic, string Event);
