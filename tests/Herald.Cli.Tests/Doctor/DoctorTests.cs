using System.Net;
using System.Net.Sockets;
using Herald.Cli;
using Herald.Cli.Doctor;
using Herald.Testing;

namespace Herald.Cli.Tests.Doctor;

/// <summary><c>herald doctor</c> straight against a node (the nginx variants are in Herald.Server.Tests, EndToEnd/NginxTests).</summary>
public sealed class DoctorTests : IAsyncLifetime
{
    private HeraldTestNode _server = null!;

    public async Task InitializeAsync() => _server = await HeraldTestNode.StartInProcessAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Doctor_OperatorLogin_PassesEveryCheckAndReportsDeliveryTime()
    {
        var report = await DoctorRun.RunAsync(new DoctorOptions
        {
            BaseUrl = _server.BaseAddress,
            Email = HeraldTestNode.AdminEmail,
            Password = HeraldTestNode.AdminPassword,
        });

        Assert.True(report.Ok, report.ToText());
        DoctorRun.AssertStatuses(report, ("health", CheckStatus.Pass), ("redis", CheckStatus.Info), ("dialog", CheckStatus.Pass), ("sse", CheckStatus.Pass),
            ("sse-prelude", CheckStatus.Pass), ("delivery", CheckStatus.Pass), ("websocket", CheckStatus.Pass), ("cors", CheckStatus.Info),
            ("widget-token", CheckStatus.Info));
        var delivery = report.Find("delivery")!;
        Assert.Equal(3, ((double[])delivery.Data!["latencies_ms"]!).Length);
        Assert.InRange(delivery.DurationMs!.Value, 0, 500);

        var again = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, Token = await _server.LoginAsync() });
        Assert.True(again.Ok, again.ToText());
    }

    /// <summary>
    /// Issue 19: the doctor left "Visitor herald-d" with 3 unread probe messages in the inbox and a "herald-doctor"
    /// assistant. Its dialog is a probe now: after runs in operator and guest mode, operators have no new assistant, no
    /// dialog in their list, and nothing on their feed (the store holds every event the feed would have carried).
    /// </summary>
    [Fact]
    public async Task Doctor_OperatorAndGuestRuns_LeaveNothingOperatorsSee()
    {
        using var op = await _server.OperatorClientAsync();
        var assistant = await _server.CreateAssistantAsync();
        var assistantsBefore = await op.GetStringAsync("/api/assistants");

        var asOperator = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, Email = HeraldTestNode.AdminEmail, Password = HeraldTestNode.AdminPassword });
        var asGuest = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, AssistantId = assistant });
        Assert.True(asOperator.Ok, asOperator.ToText());
        Assert.True(asGuest.Ok, asGuest.ToText());

        Assert.Equal(assistantsBefore, await op.GetStringAsync("/api/assistants"));
        Assert.Equal("[]", await op.GetStringAsync("/api/dialogs?include_empty=true"));
        var store = _server.GetService<Herald.Server.Storage.SqlStore>();
        Assert.Empty(await store.ReadEventsAsync([Herald.Server.Dialogs.DialogTopics.OperatorFeed], 0, 100));
        Assert.True(await store.GetLastEventIdAsync() > 0, "the probes' messages were stored and delivered on their own dialog");
    }

    [Fact]
    public async Task Doctor_BaseUrlWithAnExtraPath_NamesThePathNotTheProxy()
    {
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = new Uri(_server.BaseAddress, "/extra/"), AssistantId = 1 });

        var health = report.Find("health")!;
        Assert.Equal(CheckStatus.Fail, health.Status);
        Assert.StartsWith("the base URL has an extra path '/extra/'", health.Cause, StringComparison.Ordinal);
        Assert.Contains($"Use {_server.BaseAddress.GetLeftPart(UriPartial.Authority)} as the base URL", health.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Checks, c => c.Cause?.Contains("proxy", StringComparison.Ordinal) == true);
        Assert.Equal(CheckStatus.Skip, report.Find("websocket")!.Status);
    }

    /// <summary>A label over DNS's 63 characters cannot resolve: the resolver refuses it without asking a server.</summary>
    [Fact]
    public async Task Doctor_HostThatDoesNotResolve_SaysSoInsteadOfNothingAnswers()
    {
        var host = new string('x', 64) + ".invalid";
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = new Uri($"http://{host}:8000/"), AssistantId = 1 });

        var health = report.Find("health")!;
        Assert.Equal(CheckStatus.Fail, health.Status);
        Assert.StartsWith($"the name '{host}' does not resolve to an address", health.Cause, StringComparison.Ordinal);
        Assert.DoesNotContain(report.Checks, c => c.Cause?.Contains("nothing answers", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Doctor_NoCredential_SaysWhichCredentialIsMissing_AndTheSummaryMatchesTheExitCode()
    {
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress });

        var dialog = report.Find("dialog")!;
        Assert.Equal(CheckStatus.Fail, dialog.Status);
        Assert.Contains("--email E --password P", dialog.Fix, StringComparison.Ordinal);
        Assert.Contains("--assistant-id N", dialog.Fix, StringComparison.Ordinal);
        Assert.Contains("--site-token", dialog.Fix, StringComparison.Ordinal);
        Assert.Contains("\n1 failed, ", report.ToText(), StringComparison.Ordinal);
        Assert.Equal(1, await HeraldCommandLine.RunAsync(["doctor", _server.BaseAddress.ToString(), "--timeout", "3"]));
    }

    [Fact]
    public async Task Doctor_GuestWithOrigin_ChecksCorsForTheWidget()
    {
        var assistant = await _server.CreateAssistantAsync();
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, AssistantId = assistant, Origin = "http://localhost:3000" });
        Assert.True(report.Ok, report.ToText());
        Assert.Equal(CheckStatus.Pass, report.Find("cors")!.Status);

        // An origin the assistant does not allow (Development allows only localhost besides its domains).
        var foreign = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, AssistantId = assistant, Origin = "https://elsewhere.example" });
        var cors = foreign.Find("cors")!;
        Assert.Equal(CheckStatus.Fail, cors.Status);
        Assert.Contains("no Access-Control-Allow-Origin for https://elsewhere.example", cors.Cause, StringComparison.Ordinal);
        Assert.False(foreign.Ok);
    }

    [Fact]
    public async Task Doctor_UnknownAssistant_FailsTheDialogCheckWithTheCredentialsCause()
    {
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = _server.BaseAddress, AssistantId = 987654 });
        var dialog = report.Find("dialog")!;
        Assert.Equal(CheckStatus.Fail, dialog.Status);
        Assert.Contains("credentials were refused (401", dialog.Cause, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Skip, report.Find("delivery")!.Status);
        Assert.False(report.Ok);
    }

    [Fact]
    public async Task Doctor_NothingListening_FailsAsUnreachable_AndTheCommandExitsWith1()
    {
        var port = ClosedPort();
        var report = await DoctorRun.RunAsync(new DoctorOptions { BaseUrl = new Uri($"http://127.0.0.1:{port}/"), AssistantId = 1 });
        var health = report.Find("health")!;
        Assert.Equal(CheckStatus.Fail, health.Status);
        Assert.StartsWith("nothing answers at this address", health.Cause, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, report.Find("websocket")!.Status);

        Assert.Equal(1, await HeraldCommandLine.RunAsync(["doctor", $"http://127.0.0.1:{port}", "--timeout", "2", "--json"]));
        Assert.Equal(0, await HeraldCommandLine.RunAsync(["doctor", _server.BaseAddress.ToString(), "--email", HeraldTestNode.AdminEmail, "--password", HeraldTestNode.AdminPassword, "--json"]));
    }

    [Theory]
    [InlineData(new string[0], "Required argument 'base-url' missing")]
    [InlineData(new[] { "ftp://x" }, "not an http:// or https:// URL")]
    [InlineData(new[] { "http://x", "--token", "t", "--assistant-id", "1" }, "Give one credential")]
    [InlineData(new[] { "http://x", "--site-token", "hwt_x" }, "needs --origin")]
    [InlineData(new[] { "http://x", "--assistant-id", "0" }, "positive number")]
    [InlineData(new[] { "http://x", "--timeout", "soon" }, "--timeout")]
    [InlineData(new[] { "http://x", "--timeout", "0" }, "--timeout is seconds")]
    [InlineData(new[] { "http://x", "--messages", "500" }, "--messages is 1-100")]
    [InlineData(new[] { "http://x", "--email", "a@b.c" }, "--email needs --password")]
    [InlineData(new[] { "http://x", "--origin", "shop" }, "is not a URL")]
    [InlineData(new[] { "http://x", "extra" }, "Unrecognized command or argument 'extra'")]
    public void Command_BadUsage_IsRejectedWithAReason(string[] args, string error)
    {
        var (options, _, message) = DoctorCommand.Parse(args);
        Assert.Null(options);
        Assert.Contains(error, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_ParsesEveryOption()
    {
        var (options, json, error) = DoctorCommand.Parse(["https://chat.example.com/herald", "--site-token=hwt_abc", "--guest-id", "g1", "--origin", "https://shop.example.com/",
            "--json", "--timeout", "2.5", "--messages", "5"]);
        Assert.Null(error);
        Assert.True(json);
        Assert.Equal("site", options!.Mode);
        Assert.Equal("hwt_abc", options.SiteToken);
        Assert.Equal("g1", options.GuestId);
        Assert.Equal("https://shop.example.com", options.Origin);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
        Assert.Equal(5, options.Messages);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
