using System.IO.Compression;
using System.Xml.Linq;
using Herald.Testing;
using Herald.Testing.Packaging;

namespace Herald.Client.Tests.Packaging;

/// <summary>
/// Herald.Client as a user gets it: <c>dotnet pack</c> into a local folder, and examples/dotnet-client, a program of
/// its own, restored from that folder (and the machine's NuGet sources for everything else) into a packages folder of
/// its own, receiving a live Herald's events (docs/clients.md, "Herald.Client (.NET)").
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class ClientPackageTests
{
    [Fact]
    public async Task Package_HasReadmeDocsAndMetadata_AndTheSampleReceivesEventsThroughIt()
    {
        using var packages = new LocalPackages();
        await packages.PackAsync("src/Herald.Protocol");
        await packages.PackAsync("src/Herald.Client");
        var nupkg = Assert.Single(Directory.GetFiles(packages.Feed, "Herald.Client.*.nupkg"));
        var version = Path.GetFileNameWithoutExtension(nupkg)["Herald.Client.".Length..];

        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("README.md", entries);
            Assert.Contains("lib/net10.0/Herald.Client.dll", entries);
            Assert.Contains("lib/net10.0/Herald.Client.xml", entries);
            var nuspecEntry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            await using var nuspecStream = nuspecEntry.Open();
            var nuspec = await XDocument.LoadAsync(nuspecStream, LoadOptions.None, CancellationToken.None);
            string? Field(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal("Herald.Client", Field("id"));
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")));
            var dependency = nuspec.Descendants().Single(e => e.Name.LocalName == "dependency" && (string?)e.Attribute("id") == "Herald.Protocol");
            Assert.Equal(version, (string?)dependency.Attribute("version"));
        }

        var sample = packages.NewDirectory("sample");
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "examples", "dotnet-client")))
        {
            File.Copy(file, Path.Combine(sample, Path.GetFileName(file)));
        }

        packages.WriteNuGetConfig(sample, machineSources: true);
        var build = await ProcessRun.RunAsync(packages.Command("dotnet", sample, "build", $"-p:HeraldClientVersion={version}", "-nologo"), TimeSpan.FromMinutes(5));
        Assert.True(build.ExitCode == 0, build.Output);
        // Restored from the packed package, not from anything built in this repository.
        Assert.True(File.Exists(Path.Combine(packages.GlobalPackages, "herald.client", version, "lib", "net10.0", "Herald.Client.dll")), build.Output);

        await using var node = await HeraldTestNode.StartInProcessAsync();
        var guest = await node.OpenGuestDialogAsync("package-visitor");
        await node.PostGuestMessageAsync(guest, "before the sample started");

        await using var run = RunningProcess.Start(packages.Command("dotnet", sample, "run", "--no-build", "--",
            node.BaseAddress.ToString(), guest.AssistantId.ToString(System.Globalization.CultureInfo.InvariantCulture), guest.GuestId, "2"));
        await run.LineAsync(line => line.EndsWith("user: before the sample started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await node.PostGuestMessageAsync(guest, "while it listens");
        await run.LineAsync(line => line.EndsWith("user: while it listens", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.Equal(0, await run.ExitAsync(TimeSpan.FromSeconds(30)));
    }
}
