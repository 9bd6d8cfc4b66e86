namespace Herald.Testing;

/// <summary>Files of this repository the fixtures use, such as the shipped deploy/nginx.conf.</summary>
public static class RepositoryPaths
{
    /// <summary>The directory holding Herald.slnx, found upwards from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    public static string NginxConf => Path.Combine(Root, "deploy", "nginx.conf");

    /// <summary>The build configuration of the running tests (<c>Release</c> or <c>Debug</c>: bin/{Configuration}/net10.0/).</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

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
