using System.Text.Json.Serialization;

namespace Herald.Bench.Load;

// The coordinator and its workers speak one JSON object per line: commands on the worker's stdin, progress
// and replies on its stdout (stderr stays free for diagnostics).
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WorkerCommand))]
[JsonSerializable(typeof(WorkerMessage))]
internal sealed partial class WorkerJson : JsonSerializerContext;
