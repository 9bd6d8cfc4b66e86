using System.Diagnostics;

namespace Herald.Testing.Packaging;

/// <summary>
/// A temporary folder of packages made from this repository (<c>dotnet pack</c>, <c>npm pack</c>) and a clean place to
/// consume them, as a user of the published packages would: its own NuGet.config, its own global packages folder (so
/// a package of the same version restored earlier can never stand in for the one just packed), removed at the end.
/// </summary>
public sealed class LocalPackages : IDisposable
{
    private readonly TempDirectory _root = new("herald-packages-");

    public LocalPackages()
    {
        Feed = System.IO.Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "feed")).FullName;
        GlobalPackages = System.IO.Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, "nuget-packages")).FullName;
    }

    /// <summary>Where the packed .nupkg and .tgz files go.</summary>
    public string Feed { get; }

    /// <summary>The NuGet global packages folder of every command run here (NUGET_PACKAGES).</summary>
    public string GlobalPackages { get; }

    /// <summary>A new empty directory under this one.</summary>
    public string NewDirectory(string name) => System.IO.Directory.CreateDirectory(System.IO.Path.Combine(_root.Path, name)).FullName;

    /// <summary>
    /// <c>dotnet pack</c> of a project of this repository (e.g. <c>src/Herald.Cli</c>) into <see cref="Feed"/>, from the
    /// build the test run already has (the tests' own configuration), so packing compiles nothing.
    /// </summary>
    public async Task PackAsync(string project)
    {
        var result = await ProcessRun.RunAsync(
            ProcessRun.Command("dotnet", RepositoryPaths.Root, "pack", System.IO.Path.Combine(RepositoryPaths.Root, project), "-c", RepositoryPaths.Configuration,
                "--no-build", "-o", Feed, "-nologo"),
            TimeSpan.FromMinutes(5));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack {project} failed:\n{result.Output}");
        }
    }

    /// <summary>
    /// Writes a NuGet.config into <paramref name="directory"/> whose sources are <see cref="Feed"/> alone
    /// (<paramref name="machineSources"/> false) or <see cref="Feed"/> and the sources this machine is configured with,
    /// whose packages already in the machine's global packages folder are used from there (a fallback folder).
    /// </summary>
    public string WriteNuGetConfig(string directory, bool machineSources)
    {
        var path = System.IO.Path.Combine(directory, "NuGet.Config");
        var clear = machineSources ? "" : "<clear />";
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var fallback = machineSources ? $"""<fallbackPackageFolders><add key="machine" value="{machinePackages}" /></fallbackPackageFolders>""" : "";
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                {clear}
                <add key="herald-local" value="{Feed}" />
              </packageSources>
              {fallback}
            </configuration>
            """);
        return path;
    }

    /// <summary>A command that uses <see cref="GlobalPackages"/> as its NuGet global packages folder.</summary>
    public ProcessStartInfo Command(string fileName, string workingDirectory, params string[] args)
    {
        var start = ProcessRun.Command(fileName, workingDirectory, args);
        start.Environment["NUGET_PACKAGES"] = GlobalPackages;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }

    public void Dispose() => _root.Dispose();
}
