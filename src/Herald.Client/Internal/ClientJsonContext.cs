using System.Text.Json;
using System.Text.Json.Serialization;

namespace Herald.Client.Internal;

/// <summary>Source-generated JSON for every shape the client reads or writes (trimming/AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HeraldMessage))]
[JsonSerializable(typeof(List<HeraldMessage>))]
[JsonSerializable(typeof(HeraldDialog))]
[JsonSerializable(typeof(HeraldLogin))]
[JsonSerializable(typeof(HeraldResetInfo))]
[JsonSerializable(typeof(Herald.Protocol.ErrorBody))]
[JsonSerializable(typeof(PollHead))]
[JsonSerializable(typeof(PostMessageBody))]
[JsonSerializable(typeof(LoginBody))]
[JsonSerializable(typeof(PublishBody))]
[JsonSerializable(typeof(PublishAnswer))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
