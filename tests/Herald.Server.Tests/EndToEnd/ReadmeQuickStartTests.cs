using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Testing;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// The README's curl quick start, run by bash exactly as written (the block between its <c>quickstart</c> markers),
/// against a fresh node and against one whose demo was used first: there the demo took assistant 1 and dialog 1, so a
/// block with hard-coded ids would open the wrong assistant's dialog or get a 403.
/// </summary>
public sealed partial class ReadmeQuickStartTests
{
    private const string Text = "Тестовое сообщение";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task QuickStart_RunAsWritten_DeliversTheMessageOnTheShopsDialog(bool demoUsedFirst)
    {
        var settings = new Dictionary<string, string> { ["Herald:Demo:Enabled"] = demoUsedFirst ? "true" : "false" };
        await using var node = await HeraldTestNode.StartInProcessAsync(settings);
        if (demoUsedFirst)
        {
            await UseTheDemoAsync(node);
        }

        var output = await RunBlockAsync(node);

        var frame = output.Split("\n\n").FirstOrDefault(f => f.Contains("\"message:new\"", StringComparison.Ordinal) && f.Contains(Text, StringComparison.Ordinal));
        Assert.True(frame is not null, $"the stream did not show the message:\n{output}");
        var data = JsonDocument.Parse(frame!.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]).RootElement;
        var dialogId = data.GetProperty("message").GetProperty("dialog_id").GetInt64();

        // The widget token landed on the assistant the block created, not on whichever one happens to have id 1.
        using var op = await node.OperatorClientAsync();
        var assistants = await op.GetFromJsonAsync<JsonElement>("/api/assistants");
        var shop = assistants.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "Shop").GetProperty("id").GetInt64();
        var dialog = await op.GetFromJsonAsync<JsonElement>($"/api/dialogs/{dialogId}");
        Assert.Equal(shop, dialog.GetProperty("assistant_id").GetInt64());
        Assert.Equal(demoUsedFirst ? 2 : 1, shop);
    }

    /// <summary>What a visitor of <c>/demo</c> does: opens the demo shop's widget and writes.</summary>
    private static async Task UseTheDemoAsync(HeraldTestNode node)
    {
        var token = DemoToken().Match(await node.Client.GetStringAsync("/demo")).Groups[1].Value;
        var origin = node.BaseAddress.GetLeftPart(UriPartial.Authority);
        using var open = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs?site_token={token}&guest_id=demo-visitor");
        open.Headers.Add("Origin", origin);
        using var opened = await node.Client.SendAsync(open);
        opened.EnsureSuccessStatusCode();
        var dialog = (await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var post = new HttpRequestMessage(HttpMethod.Post, $"/api/widget/dialogs/{dialog}/messages?site_token={token}&guest_id=demo-visitor")
        {
            Content = JsonContent.Create(new { sender = "user", text = "hello from the demo" }),
        };
        post.Headers.Add("Origin", origin);
        using var posted = await node.Client.SendAsync(post);
        posted.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Runs the block under <c>set -euo pipefail</c> (a failing curl or an empty jq answer stops it), followed by
    /// <c>wait</c> so that the backgrounded stream stays a child of this bash; returns what it printed once the stream
    /// has shown the message (or bash has ended), and ends bash and its stream.
    /// </summary>
    private static async Task<string> RunBlockAsync(HeraldTestNode node)
    {
        var script = $"set -euo pipefail\n{QuickStartBlock()}\nwait\n";
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["HERALD"] = node.BaseAddress.GetLeftPart(UriPartial.Authority);
        using var bash = Process.Start(start)!;
        var output = new StringBuilder();
        var shown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bash.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.Append(e.Data).Append('\n');
                if (e.Data is not null && e.Data.Contains("\"message:new\"", StringComparison.Ordinal) && e.Data.Contains(Text, StringComparison.Ordinal))
                {
                    shown.TrySetResult();
                }
            }
        };
        bash.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.Append("stderr: ").Append(e.Data).Append('\n');
            }
        };
        bash.BeginOutputReadLine();
        bash.BeginErrorReadLine();
        await bash.StandardInput.WriteAsync(script);
        bash.StandardInput.Close();
        try
        {
            await Task.WhenAny(shown.Task, bash.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(30));
            if (!shown.Task.IsCompleted)
            {
                Assert.Fail($"the block ended with exit code {bash.ExitCode} before the stream showed the message:\n{Out()}{node.ServerErrors()}");
            }
        }
        finally
        {
            if (!bash.HasExited)
            {
                bash.Kill(entireProcessTree: true);
            }

            await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        return Out();

        string Out()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private static string QuickStartBlock()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        var match = QuickStart().Match(readme);
        Assert.True(match.Success, "README.md has no ```bash block between <!-- quickstart:begin --> and <!-- quickstart:end -->");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"<!-- quickstart:begin -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", RegexOptions.Singleline)]
    private static partial Regex QuickStart();

    [GeneratedRegex("data-site-token=\"([^\"]+)\"")]
    private static partial Regex DemoToken();
}
