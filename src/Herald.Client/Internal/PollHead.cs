using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Client.Internal;

internal sealed record PollHead(long LastEventId);
