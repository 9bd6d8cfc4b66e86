namespace Herald.Testing.Bridge;

/// <summary>Bounds for every await in the bridge tests: generous for a loaded 2-core machine, short enough to fail fast.</summary>
public static class Within
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
}
