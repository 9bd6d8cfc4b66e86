using Herald.Server.Hosting;
using Herald.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Logging;

namespace Herald.Server.Tests.Hosting;

/// <summary>
/// The content root is the working directory, where the data directory usually is. A settings file read with
/// reload-on-change puts a watcher over that whole tree, which then wakes for every write of the database and its WAL
/// (issue 22: 6.9 KB and about half the CPU of a chat message). Herald reads its settings once.
/// </summary>
public sealed class SettingsReloadTests
{
    [Fact]
    public async Task Build_SettingsFiles_AreReadOnceNotWatched()
    {
        using var data = new TempDirectory("herald-settings-");
        await using var app = HeraldApp.Build(
            ["--urls", "http://127.0.0.1:0", "--environment", "Development", $"--Herald:Storage:DataDirectory={data.Path}"],
            builder => builder.Logging.ClearProviders());

        var files = ((IConfigurationRoot)app.Configuration).Providers.OfType<JsonConfigurationProvider>().ToList();

        Assert.NotEmpty(files);
        Assert.All(files, file => Assert.False(file.Source.ReloadOnChange, $"{file.Source.Path} is watched for changes"));
    }
}
