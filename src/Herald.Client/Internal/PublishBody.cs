using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Client.Internal;

internal sealed record PublishBody(string Topic, string Event, JsonElement Data);
