using System.Net;
using System.Net.Http.Json;
using Herald.Testing;

namespace Herald.Cli.Tests;

/// <summary>
/// <c>herald users add | list | passwd | name | remove</c> run as processes outside Development, against the data directory a
/// real node then serves: what the command wrote is what the login sees.
/// </summary>
public sealed class UsersCommandTests
{
    private const string Email = "ops@example.com";
    private const string Password = "a-good-long-password";

    private static readonly Dictionary<string, string> Production = new() { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" };

    [Fact]
    public async Task Add_OutsideDevelopmentWithoutSigningKey_CreatesAnOperatorWhoCanLogIn()
    {
        using var data = new TempDirectory("herald-users-");

        var (code, stdout, stderr) = await Users(data, "add", "--email", "Ops@Example.com ", "--password", Password);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains($"Created operator {Email} (id 1).", stdout, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(data, Email, Password));
    }

    [Theory]
    [InlineData("not-an-email", Password, "'not-an-email' is not an email address such as operator@example.com.")]
    [InlineData("Display Name <ops@example.com>", Password, "is not an email address")]
    [InlineData(Email, "short", "The password must be at least 8 characters.")]
    [InlineData(Email, "", "--password (or HERALD_NEW_PASSWORD) is required.")]
    public async Task Add_EmailOrPasswordAgainstTheRules_ExitsTwoAndCreatesNothing(string email, string password, string expected)
    {
        using var data = new TempDirectory("herald-users-");

        var (code, _, stderr) = await Users(data, "add", "--email", email, "--password", password);

        Assert.Equal(2, code);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Contains("Run 'herald users add --help' for usage.", stderr, StringComparison.Ordinal);
        var (_, list, _) = await Users(data, "list");
        Assert.Equal("", list.Trim());
    }

    [Fact]
    public async Task ListPasswdRemove_ChangeWhatTheLoginSees()
    {
        using var data = new TempDirectory("herald-users-");
        Assert.Equal(0, (await Users(data, "add", "--email", Email, "--password", Password)).Code);
        Assert.Equal(0, (await Users(data, "add", "--email", "second@example.com", "--password", Password)).Code);

        var (_, list, _) = await Users(data, "list");
        var lines = list.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"1\t{Email}\t", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("2\tsecond@example.com\t", lines[1], StringComparison.Ordinal);

        var passwd = await Users(data, "passwd", "--email", Email, "--password", "another-long-password");
        Assert.Equal(0, passwd.Code);
        Assert.Contains($"Changed the password of operator {Email} (id 1).", passwd.Stdout, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(data, Email, Password));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(data, Email, "another-long-password"));
        Assert.Equal(2, (await Users(data, "passwd", "--email", Email, "--password", "short")).Code);

        var remove = await Users(data, "remove", "--email", "second@example.com");
        Assert.Equal(0, remove.Code);
        Assert.Contains("Removed operator second@example.com (id 2).", remove.Stdout, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(data, "second@example.com", Password));
        var (_, after, _) = await Users(data, "list");
        Assert.DoesNotContain("second@example.com", after, StringComparison.Ordinal);

        var unknown = await Users(data, "remove", "--email", "nobody@example.com");
        Assert.Equal(1, unknown.Code);
        Assert.Equal("No operator has the email 'nobody@example.com'.", HeraldCli.OneLine(unknown.Stderr));
    }

    [Fact]
    public async Task Add_DataDirectoryUnderAFile_OneLineNamingTheSetting_ExitsOne()
    {
        using var data = new TempDirectory("herald-users-");
        var file = Path.Combine(data.Path, "a-file");
        await File.WriteAllTextAsync(file, "");

        var (code, stdout, stderr) = await HeraldCli.RunWithAsync(Production, "users", "add", "--email", Email, "--password", Password,
            $"--Herald:Storage:DataDirectory={Path.Combine(file, "data")}");

        Assert.Equal(1, code);
        Assert.StartsWith("Herald:Storage:DataDirectory is ", HeraldCli.OneLine(stderr), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    /// <summary>The name visitors see (issue 19, item 10): set at <c>add</c> or with <c>name</c>, a default from the email's local part.</summary>
    [Fact]
    public async Task AddAndName_DisplayName_ListedAndResettable_BadNameExitsTwo()
    {
        using var data = new TempDirectory("herald-users-");
        Assert.Equal(0, (await Users(data, "add", "--email", "jane.doe@example.com", "--password", Password)).Code);
        Assert.Equal(0, (await Users(data, "add", "--email", Email, "--password", Password, "--name", "Ada from Support")).Code);

        var (_, list, _) = await Users(data, "list");
        var lines = list.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("\tJane Doe", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("\tAda from Support", lines[1], StringComparison.Ordinal);

        var renamed = await Users(data, "name", "--email", "Jane.Doe@example.com", "--name", " Jane ");
        Assert.Equal(0, renamed.Code);
        Assert.Contains("Operator jane.doe@example.com (id 1) is shown to visitors as Jane.", renamed.Stdout, StringComparison.Ordinal);
        var reset = await Users(data, "name", "--email", "jane.doe@example.com", "--name", "");
        Assert.Contains("is shown to visitors as Jane Doe.", reset.Stdout, StringComparison.Ordinal);

        var bad = await Users(data, "name", "--email", Email, "--name", new string('x', 101));
        Assert.Equal(2, bad.Code);
        Assert.Contains("The display name must be 1-100 printable characters.", bad.Stderr, StringComparison.Ordinal);
        var unknown = await Users(data, "name", "--email", "nobody@example.com", "--name", "X");
        Assert.Equal(1, unknown.Code);
        Assert.Equal("No operator has the email 'nobody@example.com'.", HeraldCli.OneLine(unknown.Stderr));
        (_, list, _) = await Users(data, "list");
        Assert.EndsWith("\tAda from Support", list.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1], StringComparison.Ordinal);
    }

    /// <summary>The first operator from the environment follows the same rules as <c>herald users add</c>.</summary>
    [Fact]
    public async Task Serve_FirstOperatorWithAShortPassword_OneLineNamingTheVariable_ExitsOne()
    {
        using var data = new TempDirectory("herald-users-");
        var environment = new Dictionary<string, string>(Production) { ["HERALD_ADMIN_EMAIL"] = Email, ["HERALD_ADMIN_PASSWORD"] = "short" };

        var (code, stdout, stderr) = await HeraldCli.RunWithAsync(environment, "serve", "--urls", "http://127.0.0.1:0",
            $"--Herald:Storage:DataDirectory={data.Path}", HeraldCli.ProductionKey);

        Assert.Equal(1, code);
        Assert.Equal("HERALD_ADMIN_PASSWORD: the password must be at least 8 characters; the first operator was not created.", HeraldCli.OneLine(stderr));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Stdout, string Stderr)> Users(TempDirectory data, params string[] args) =>
        HeraldCli.RunWithAsync(Production, ["users", .. args, $"--Herald:Storage:DataDirectory={data.Path}"]);

    /// <summary>A node outside Development on the same data directory: the login it answers.</summary>
    private static async Task<HttpStatusCode> LoginAsync(TempDirectory data, string email, string password)
    {
        var settings = new Dictionary<string, string> { ["Herald:Auth:SigningKey"] = "a-production-signing-key-of-at-least-32-bytes" };
        await using var node = await HeraldTestNode.StartInProcessAsync(settings, data.Path, environment: "Production");
        using var response = await node.Client.PostAsJsonAsync("/api/auth/login", new { email, password });
        return response.StatusCode;
    }
}
