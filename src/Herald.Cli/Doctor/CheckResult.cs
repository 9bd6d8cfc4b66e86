namespace Herald.Cli.Doctor;

/// <summary>One line of the doctor's report.</summary>
/// <param name="Name">Stable identifier (<c>health</c>, <c>sse</c>, <c>sse-prelude</c>, ...); scripts match on it.</param>
/// <param name="Status">Pass, fail, info or skip.</param>
/// <param name="Summary">What was observed, one line.</param>
/// <param name="Cause">For a failure: the likely cause, in the words of seeds 000/001 where they apply.</param>
/// <param name="Fix">For a failure: what to change.</param>
/// <param name="DurationMs">How long the check took, or the measured delivery time.</param>
/// <param name="Data">Figures for scripts (latencies, status codes).</param>
internal sealed record CheckResult(
    string Name,
    CheckStatus Status,
    string Summary,
    string? Cause = null,
    string? Fix = null,
    double? DurationMs = null,
    IReadOnlyDictionary<string, object?>? Data = null);
