namespace Herald.Testing;

/// <summary>Files of this repository the fixtures use: the shipped deploy/nginx.conf, the built herald.dll.</summary>
public static class RepositoryPaths
{
    /// <summary>The directory holding Herald.slnx, found upwards from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>bin/Debug or bin/Release, whichever the tests were built as.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string NginxConf => Path.Combine(Root, "deploy", "nginx.conf");

    /// <summary>The server as built for this configuration (the test projects reference it, so it is built first); HERALD_DLL overrides.</summary>
    public static string HeraldDll =>
        Environment.GetEnvironmentVariable("HERALD_DLL") is { Length: > 0 } dll ? dll
        : Path.Combine(Root, "src", "Herald.Server", "bin", Configuration, "net10.0", "herald.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Herald.slnx not found above {AppContext.BaseDirectory}: run the tests from the repository.");
    }
}
