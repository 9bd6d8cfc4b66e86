using System.Diagnostics;

namespace Herald.Bench.Load;

/// <summary>Starts this same program again (as a worker), however it was started (apphost or <c>dotnet x.dll</c>).</summary>
internal static class SelfLaunch
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("Unknown process path.");
        var info = new ProcessStartInfo(processPath) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(typeof(SelfLaunch).Assembly.Location);
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }
}
