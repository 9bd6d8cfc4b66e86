namespace Herald.Bench.Targets;

/// <summary>The targets by name, each started fresh for one scenario.</summary>
internal static class BenchTargets
{
    public static readonly string[] Names = ["herald", MercureTarget.TargetName, "nchan", "signalr"];

    public static async Task<IBenchTarget> StartAsync(string name, BenchOptions options) => name switch
    {
        "herald" => await HeraldTarget.StartAsync(options),
        MercureTarget.TargetName => await MercureTarget.StartAsync(options),
        "nchan" => await NchanTarget.StartAsync(options),
        "signalr" => await SignalRTarget.StartAsync(options),
        _ => throw new ArgumentException($"Unknown target '{name}' (known: {string.Join(", ", Names)})."),
    };
}
