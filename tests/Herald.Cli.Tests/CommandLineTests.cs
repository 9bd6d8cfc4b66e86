using System.Diagnostics;
using Herald.Testing;

namespace Herald.Cli.Tests;

/// <summary>The <c>herald</c> command as a user runs it: a separate process, its exit code and what it prints.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_ListsEveryCommand_ExitsZero()
    {
        var (code, stdout, _) = await RunAsync("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "serve", "users", "doctor", "bridge", "testserver", "testclient" })
        {
            Assert.Contains(command, stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "Unknown command 'frobnicate'", "herald --help")]
    [InlineData(new[] { "users", "add", "--password", "x" }, "Option '--email' is required", "herald users add --help")]
    [InlineData(new[] { "users" }, "Required command was not provided", "herald users --help")]
    [InlineData(new[] { "users", "remove" }, "Option '--email' is required", "herald users remove --help")]
    [InlineData(new[] { "doctor" }, "Required argument 'base-url' missing", "herald doctor --help")]
    [InlineData(new[] { "doctor", "http://127.0.0.1:1", "--messages", "many" }, "--messages is 1-100", "herald doctor --help")]
    [InlineData(new[] { "testclient", "--url", "http://127.0.0.1:1/proxy" }, "is not a ws:// or wss:// URL", "herald testclient --help")]
    public async Task BadUsage_NamesTheProblemAndTheHelp_ExitsTwo(string[] args, string reason, string help)
    {
        var (code, _, stderr) = await RunAsync(args);
        Assert.Equal(2, code);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
        Assert.Contains($"Run '{help}' for usage.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bridge_SettingsFileThatIsNotJson_IsAUsageErrorNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"herald-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, "{ not json");
        try
        {
            var (code, _, stderr) = await RunAsync("bridge", "--settings", path);
            Assert.Equal(2, code);
            Assert.Contains("Invalid bridge settings", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Each wrong setting stops <c>herald serve</c> before it listens: one line naming the key and the rule, exit code 2.</summary>
    [Theory]
    [InlineData("Herald:Streams:HeartbeatInterval=00:00:00", "Herald:Streams:HeartbeatInterval must be between 100 ms and 1 h (got 00:00:00)")]
    [InlineData("Herald:Streams:HeartbeatInterval=abc", "Herald:Streams:HeartbeatInterval must be a duration, hh:mm:ss or d.hh:mm:ss (e.g. 00:00:15) (got 'abc')")]
    [InlineData("Herald:Streams:MaxQueuedEvents=0", "Herald:Streams:MaxQueuedEvents must be between 1 and 1000000 (got 0)")]
    [InlineData("Herald:Streams:MaxConnections=lots", "Herald:Streams:MaxConnections must be a whole number (got 'lots')")]
    [InlineData("Herald:Streams:HandOffConnections=yes", "Herald:Streams:HandOffConnections must be true or false (got 'yes')")]
    [InlineData("Herald:Storage:Provider=mongodb", "Herald:Storage:Provider must be 'sqlite' or 'postgres' (got 'mongodb')")]
    [InlineData("Herald:Storage:Provider=postgres", "Herald:Storage:ConnectionString must be set when Herald:Storage:Provider is 'postgres'")]
    [InlineData("Herald:Storage:RetentionInterval=00:00:00", "Herald:Storage:RetentionInterval must be between 100 ms and 1 d (got 00:00:00)")]
    [InlineData("Herald:Auth:TokenLifetime=-00:01:00", "Herald:Auth:TokenLifetime must be between 1 s and 365 d (got -00:01:00)")]
    [InlineData("Herald:Auth:SigningKey=short", "Herald:Auth:SigningKey must be at least 32 bytes long (HS256)")]
    [InlineData("Herald:Auth:ServiceChatRead=true", "Herald:Auth:ServiceChatRead is true but Herald:Auth:ApiKeys is empty")]
    [InlineData("Herald:Cors:OperatorOrigins:0=*", "Herald:Cors:OperatorOrigins: '*' is not an origin")]
    [InlineData("Herald:Redis:Url=http://127.0.0.1:6379", "Herald:Redis:Url is not a Redis URL: A Redis URL must start with redis://")]
    [InlineData("Herald:Limits:MaxConnectionsPerIp=-1", "Herald:Limits:MaxConnectionsPerIp must be between 0 and 10000000 (got -1)")]
    [InlineData("Herald:Limits:MessagesPerIpPerSecond=NaN", "Herald:Limits:MessagesPerIpPerSecond must be 0 (no limit) or more, not NaN")]
    [InlineData("Herald:Shutdown:DrainTimeout=00:00:00", "Herald:Shutdown:DrainTimeout must be between 100 ms and 1 h (got 00:00:00)")]
    [InlineData("Herald:Shutdown:ReconnectMaxMilliseconds=10", "Herald:Shutdown:ReconnectMaxMilliseconds must be between 1000 and 3600000 (got 10)")]
    [InlineData("Herald:Network:TrustedProxies=nginx.local", "Herald:Network:TrustedProxies has 'nginx.local', which is neither an IP address nor a network")]
    [InlineData("Herald:Metrics:Path=metrics", "Herald:Metrics:Path must start with '/' (got 'metrics')")]
    public async Task Serve_WrongSetting_OneLineNamingTheKey_ExitsTwo(string setting, string expected)
    {
        var data = Directory.CreateTempSubdirectory("herald-test-").FullName;
        try
        {
            var args = new List<string> { "serve", "--urls", "http://127.0.0.1:0", $"--Herald:Storage:DataDirectory={data}" };
            if (!setting.StartsWith("Herald:Auth:SigningKey=", StringComparison.Ordinal))
            {
                args.Add("--Herald:Auth:SigningKey=a-production-signing-key-of-at-least-32-bytes");
            }

            args.Add($"--{setting}");
            var (code, stdout, stderr) = await RunAsync([.. args]);
            Assert.Equal(2, code);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("Invalid configuration: ", line, StringComparison.Ordinal);
            Assert.Contains(expected, line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>The mistakes of issue 19 as a person makes them, with environment variables: one line naming the setting and what it expects.</summary>
    [Theory]
    [InlineData("Herald__Streams__HeartbeatInterval", "abc", "Herald:Streams:HeartbeatInterval must be a duration, hh:mm:ss or d.hh:mm:ss (e.g. 00:00:15) (got 'abc')")]
    [InlineData("Herald__Storage__Provider", "mysql", "Herald:Storage:Provider must be 'sqlite' or 'postgres' (got 'mysql')")]
    public async Task Serve_WrongEnvironmentVariable_OneLineNamingTheSetting_ExitsTwo(string variable, string value, string expected)
    {
        using var data = new TempDirectory("herald-test-");
        var (code, stdout, stderr) = await RunWithAsync(new() { [variable] = value }, "serve", "--urls", "http://127.0.0.1:0",
            $"--Herald:Storage:DataDirectory={data.Path}", ProductionKey);
        Assert.Equal(2, code);
        Assert.Equal($"Invalid configuration: {expected}", OneLine(stderr));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortInUse_OneLineNamingTheAddress_ExitsOne()
    {
        using var data = new TempDirectory("herald-test-");
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)taken.LocalEndpoint).Port}";

        var (code, stdout, stderr) = await RunAsync("serve", "--urls", url, $"--Herald:Storage:DataDirectory={data.Path}", ProductionKey);

        Assert.Equal(1, code);
        var line = OneLine(stderr);
        Assert.Contains($"Failed to bind to address {url}: address already in use", line, StringComparison.Ordinal);
        Assert.Contains("set --urls (ASPNETCORE_URLS) to another port", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// A data directory Herald cannot write: one under a regular file (it cannot be created), and one whose herald.db is
    /// a directory (SQLite's "Error 14: unable to open database file"). Both fail the same way for an unprivileged user
    /// whose directory is read-only; these two fail for root too, which is what the test machine runs as.
    /// </summary>
    [Theory]
    [InlineData("under-a-file")]
    [InlineData("database-is-a-directory")]
    public async Task Serve_DataDirectoryNotWritable_OneLineNamingTheSettingAndPath_ExitsOne(string mistake)
    {
        using var root = new TempDirectory("herald-test-");
        string directory;
        if (mistake == "under-a-file")
        {
            var file = Path.Combine(root.Path, "a-file");
            await File.WriteAllTextAsync(file, "");
            directory = Path.Combine(file, "data");
        }
        else
        {
            directory = root.Path;
            Directory.CreateDirectory(Path.Combine(directory, "herald.db"));
        }

        var (code, stdout, stderr) = await RunAsync("serve", "--urls", "http://127.0.0.1:0", $"--Herald:Storage:DataDirectory={directory}", ProductionKey);

        Assert.Equal(1, code);
        var line = OneLine(stderr);
        Assert.StartsWith($"Herald:Storage:DataDirectory is '{directory}'", line, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(directory, "herald.db"), line, StringComparison.Ordinal);
        Assert.Contains("Expected a directory this user can create and write", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    private const string ProductionKey = HeraldCli.ProductionKey;

    private static string OneLine(string stderr) => HeraldCli.OneLine(stderr);

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => HeraldCli.RunAsync(args);

    private static Task<(int Code, string Stdout, string Stderr)> RunWithAsync(Dictionary<string, string> environment, params string[] args) =>
        HeraldCli.RunWithAsync(environment, args);
}
