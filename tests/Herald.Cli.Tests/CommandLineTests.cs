using System.Diagnostics;

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
    [InlineData(new[] { "users", "remove" }, "Required command was not provided", "herald users --help")]
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
    [InlineData("Herald:Streams:HeartbeatInterval=abc", "'Herald:Streams:HeartbeatInterval'")]
    [InlineData("Herald:Streams:MaxQueuedEvents=0", "Herald:Streams:MaxQueuedEvents must be between 1 and 1000000 (got 0)")]
    [InlineData("Herald:Streams:MaxConnections=lots", "'Herald:Streams:MaxConnections'")]
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

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "herald.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A command that should have failed fast is serving: do not leave it running after the test.
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
