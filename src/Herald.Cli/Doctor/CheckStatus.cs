namespace Herald.Cli.Doctor;

/// <summary>How one check ended. Only <see cref="Fail"/> and <see cref="Skip"/> make the doctor exit non-zero.</summary>
internal enum CheckStatus
{
    /// <summary>Checked and fine.</summary>
    Pass,

    /// <summary>Checked and broken: <see cref="CheckResult.Cause"/> and <see cref="CheckResult.Fix"/> say why and what to do.</summary>
    Fail,

    /// <summary>Not applicable here (no Redis configured, no --origin given): neither a pass nor a failure.</summary>
    Info,

    /// <summary>Could not be checked because an earlier check failed or a credential is missing.</summary>
    Skip,
}
