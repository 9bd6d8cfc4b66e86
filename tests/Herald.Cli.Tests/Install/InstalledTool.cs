using System.Diagnostics;
using Herald.Testing;
using Herald.Testing.Packaging;

namespace Herald.Cli.Tests.Install;

/// <summary>
/// The <c>herald</c> .NET tool as a user gets it: <c>dotnet pack src/Herald.Cli</c> into a local folder, then
/// <c>dotnet tool install herald --tool-path …</c> from that folder alone (docs/deploy.md, "Install").
/// </summary>
public sealed class InstalledTool : IAsyncLifetime
{
    public LocalPackages Packages { get; } = new();

    /// <summary>The installed <c>herald</c> command.</summary>
    public string Herald { get; private set; } = "";

    /// <summary>The version of the package that was installed.</summary>
    public string Version { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await Packages.PackAsync("src/Herald.Cli");
        var package = Path.GetFileNameWithoutExtension(Assert.Single(Directory.GetFiles(Packages.Feed, "herald.*.nupkg")));
        Version = package["herald.".Length..];
        var tools = Packages.NewDirectory("tools");
        var config = Packages.WriteNuGetConfig(Packages.NewDirectory("tool-config"), machineSources: false);
        var install = await ProcessRun.RunAsync(
            Packages.Command("dotnet", tools, "tool", "install", "herald", "--tool-path", tools, "--configfile", config, "--version", Version),
            TimeSpan.FromMinutes(3));
        Assert.True(install.ExitCode == 0, $"dotnet tool install failed:\n{install.Output}");
        Herald = Path.Combine(tools, "herald");
    }

    /// <summary>
    /// The installed command run in <paramref name="workingDirectory"/> as an operator runs it in production: a
    /// signing key and the first operator from the environment, nothing else of the test's.
    /// </summary>
    public ProcessStartInfo Command(string workingDirectory, params string[] args) => Production(ProcessRun.Command(Herald, workingDirectory, args));

    /// <summary>The environment of a production start (no Development defaults): a signing key and the first operator.</summary>
    public static ProcessStartInfo Production(ProcessStartInfo start)
    {
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Herald__Auth__SigningKey"] = "an-install-test-signing-key-of-at-least-32-bytes";
        start.Environment["HERALD_ADMIN_EMAIL"] = OperatorEmail;
        start.Environment["HERALD_ADMIN_PASSWORD"] = OperatorPassword;
        return start;
    }

    public const string OperatorEmail = "ops@install.test";
    public const string OperatorPassword = "install-test-password";

    public Task DisposeAsync()
    {
        Packages.Dispose();
        return Task.CompletedTask;
    }
}
