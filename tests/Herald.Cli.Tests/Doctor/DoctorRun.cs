using Herald.Cli.Doctor;

namespace Herald.Cli.Tests.Doctor;

/// <summary>
/// Runs the doctor in the test process and checks its report. Herald.Server.Tests compiles this same file (a linked
/// item) for the doctor runs through nginx, which test the gateway behind a proxy rather than the command.
/// </summary>
internal static class DoctorRun
{
    /// <summary>Runs the doctor with a 3 s check timeout unless the options set another one (its 10 s default only slows a failing test).</summary>
    public static async Task<DoctorReport> RunAsync(DoctorOptions options)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new HeraldDoctor(options with { Timeout = options.Timeout == TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(3) : options.Timeout })
            .RunAsync(cts.Token);
    }

    public static void AssertStatuses(DoctorReport report, params (string Name, CheckStatus Status)[] expected)
    {
        foreach (var (name, status) in expected)
        {
            Assert.True(report.Find(name)?.Status == status, $"{name}: expected {status}\n{report.ToText()}");
        }
    }
}
