namespace Herald.Bench.Report;

/// <summary>A figure compared with a target of issue 2 (or 8).</summary>
internal sealed record TargetCheck(string Figure, string Measured, string Target, bool Met);
