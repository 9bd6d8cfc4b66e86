using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;
using Herald.Testing;

namespace Herald.Cli.Tests.Install;

/// <summary>
/// <c>herald</c> installed and run the ways docs/deploy.md ("Install") gives: the .NET tool from a local package folder,
/// the self-contained single-file build on a PATH without <c>dotnet</c>, and <c>dotnet run</c> from a clone. In each,
/// relative paths (<c>./data</c>, <c>settings.json</c>, an <c>appsettings.json</c> of the operator's) are those of the
/// directory the command is run from, and the start-up log names the database file.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class InstallTests(InstalledTool tool) : IClassFixture<InstalledTool>
{
    // The version without the commit SourceLink appends ("0.1.0+<sha>"): a build made after a commit has another one.
    private static readonly string ExpectedVersion =
        typeof(HeraldCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    [Fact]
    public async Task Tool_Version_PrintsTheVersionOfTheBuild()
    {
        var result = await ProcessRun.RunAsync(tool.Command(tool.Packages.NewDirectory("version"), "--version"), TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal(ExpectedVersion, result.Stdout.Trim().Split('+')[0]);
        Assert.Equal(tool.Version, ExpectedVersion);
    }

    /// <summary>
    /// <c>herald serve</c> from the tool reads the operator's appsettings.json in the working directory, puts the
    /// relative data directory it names there, says so in the start-up log, and <c>herald doctor</c> passes against it.
    /// </summary>
    [Fact]
    public async Task Tool_Serve_UsesTheWorkingDirectory_AndDoctorPasses()
    {
        var cwd = tool.Packages.NewDirectory("serve");
        await File.WriteAllTextAsync(Path.Combine(cwd, "appsettings.json"), """{"Herald":{"Storage":{"DataDirectory":"store"}}}""");

        await using var node = await HeraldTestNode.StartCommandAsync(() => tool.Command(cwd, "serve"));

        var database = Path.Combine(cwd, "store", "herald.db");
        Assert.True(File.Exists(database), $"no {database}:\n{node.Output}");
        await Poll.UntilAsync(() => node.Output.Contains($"(storage: sqlite at {database})", StringComparison.Ordinal));

        // The doctor tests with an assistant of the deployment's own (it creates none): a fresh one has to have one.
        using (var login = await node.Client.PostAsJsonAsync("/api/auth/login", new { email = InstalledTool.OperatorEmail, password = InstalledTool.OperatorPassword }))
        {
            login.EnsureSuccessStatusCode();
            var token = (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("access_token").GetString();
            using var create = new HttpRequestMessage(HttpMethod.Post, "/api/assistants") { Content = JsonContent.Create(new { name = "Shop" }) };
            create.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var created = await node.Client.SendAsync(create);
            created.EnsureSuccessStatusCode();
        }

        var doctor = await ProcessRun.RunAsync(
            tool.Command(cwd, "doctor", node.BaseAddress.ToString(), "--email", InstalledTool.OperatorEmail, "--password", InstalledTool.OperatorPassword),
            TimeSpan.FromSeconds(90));
        Assert.True(doctor.ExitCode == 0, doctor.Output);
        Assert.Contains("All checks passed.", doctor.Stdout, StringComparison.Ordinal);
    }

    /// <summary><c>herald bridge --settings settings.json</c> reads the file in the working directory and listens where it says.</summary>
    [Fact]
    public async Task Tool_Bridge_ReadsSettingsFromTheWorkingDirectory()
    {
        var cwd = tool.Packages.NewDirectory("bridge");
        var port = LoopbackPort.GetFree();
        await File.WriteAllTextAsync(Path.Combine(cwd, "settings.json"), $$$"""{"proxy":{"host":"127.0.0.1","port":{{{port}}},"path":"/install-proxy"}}""");

        await using var bridge = RunningProcess.Start(tool.Command(cwd, "bridge", "--settings", "settings.json"));
        var banner = await bridge.LineAsync(line => line.StartsWith("🚀 Herald bridge:", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        Assert.Equal($"🚀 Herald bridge: ws://127.0.0.1:{port}/install-proxy (settings: {Path.Combine(cwd, "settings.json")})", banner);
    }

    /// <summary>
    /// The README's clone-and-run command, run from another directory: the data directory is that directory's
    /// <c>./data</c>, not the project folder the Web SDK would start the program in.
    /// </summary>
    [Fact]
    public async Task DotnetRun_FromAnotherDirectory_KeepsDataThere()
    {
        var cwd = tool.Packages.NewDirectory("dotnet-run");
        var project = Path.Combine(RepositoryPaths.Root, "src", "Herald.Cli");

        await using var node = await HeraldTestNode.StartCommandAsync(
            () => ProcessRun.Command("dotnet", cwd, "run", "--project", project, "-c", RepositoryPaths.Configuration, "--no-build", "--"));

        var database = Path.Combine(cwd, "data", "herald.db");
        Assert.True(File.Exists(database), $"no {database}:\n{node.Output}");
        await Poll.UntilAsync(() => node.Output.Contains($"(storage: sqlite at {database})", StringComparison.Ordinal));
    }

    /// <summary>
    /// The single-file linux-x64 build (Properties/PublishProfiles/linux-x64.pubxml) is one executable that runs with
    /// no <c>dotnet</c> on PATH and no DOTNET_ROOT: it maps nothing of the machine's .NET installation.
    /// </summary>
    [Fact]
    public async Task SingleFile_RunsWithoutDotnet()
    {
        var publishDir = tool.Packages.NewDirectory("single-file");
        // Analyzers are the regular build's job; here they would only double the compile time of the linux-x64 build.
        var publish = await ProcessRun.RunAsync(
            ProcessRun.Command("dotnet", RepositoryPaths.Root, "publish", Path.Combine(RepositoryPaths.Root, "src", "Herald.Cli"),
                "-p:PublishProfile=linux-x64", $"-p:PublishDir={publishDir}/", "-p:RunAnalyzers=false", "-nologo"),
            TimeSpan.FromMinutes(20));
        Assert.True(publish.ExitCode == 0, publish.Output);
        var herald = Path.Combine(publishDir, "herald");
        Assert.True(File.Exists(herald), $"no {herald}:\n{publish.Output}");
        Assert.Empty(Directory.GetFiles(publishDir, "*.dll"));

        var cwd = tool.Packages.NewDirectory("single-file-cwd");
        var emptyPath = tool.Packages.NewDirectory("empty-path");
        var extract = tool.Packages.NewDirectory("bundle-extract");
        ProcessStartInfo Command(params string[] args)
        {
            var start = InstalledTool.Production(ProcessRun.Command(herald, cwd, args));
            start.Environment["PATH"] = emptyPath;
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(name);
            }

            start.Environment["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = extract;
            return start;
        }

        var version = await ProcessRun.RunAsync(Command("--version"), TimeSpan.FromSeconds(60));
        Assert.True(version.ExitCode == 0, version.Output);
        Assert.Equal(ExpectedVersion, version.Stdout.Trim().Split('+')[0]);

        await using var node = await HeraldTestNode.StartCommandAsync(() => Command("serve"));
        var health = await node.HealthAsync();
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.True(File.Exists(Path.Combine(cwd, "data", "herald.db")), node.Output);

        // The machine's runtime lives under the directory of this test's own System.Private.CoreLib (…/shared/Microsoft.NETCore.App/<version>).
        var machineDotnet = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        var maps = await File.ReadAllTextAsync($"/proc/{node.ProcessId}/maps");
        Assert.DoesNotContain(machineDotnet + "/", maps, StringComparison.Ordinal);
    }
}
