using System.Runtime.InteropServices;

namespace Herald.Testing;

/// <summary>Signals for the real processes the fixtures start: <see cref="System.Diagnostics.Process.Kill()"/> only sends SIGKILL.</summary>
public static class Posix
{
    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigQuit = 3;

    /// <summary>True when the tests run as root (nginx then needs <c>user root;</c> for its workers to use the temporary directory).</summary>
    public static bool IsRoot => NativeMethods.geteuid() == 0;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    public static bool Signal(int pid, int signal) => NativeMethods.kill(pid, signal) == 0;

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int kill(int pid, int sig);

        [DllImport("libc")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern uint geteuid();
    }
}
