namespace Herald.Client.Internal;

internal sealed record PublishAnswer(long? Id);
