using System.Text.Json;

namespace Herald.Client.Internal;

internal sealed record PublishBody(string Topic, string Event, JsonElement Data);
