using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// SIGTERM to a real <c>herald</c> process while clients stream and a writer posts: the streams end with a
/// reconnect hint, the process exits within <c>Herald:Shutdown:DrainTimeout</c>, and after a restart on the same
/// data directory a Last-Event-ID resume shows every acknowledged message exactly once, in order.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
[Collection(ProcessTestsCollection.Name)]
public sealed class DrainProcessTests
{
    // These conditions involve whole processes (restarts, failover): they get longer than Poll's default.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Sigterm_DrainsStreams_ExitsWithinTheTimeout_AndLosesNoAcknowledgedMessage()
    {
        var data = Directory.CreateTempSubdirectory("herald-drain-").FullName;
        try
        {
            var settings = new Dictionary<string, string>
            {
                ["Herald:Storage:DataDirectory"] = data,
                ["Herald:Shutdown:DrainTimeout"] = DrainTimeout.ToString(),
                ["Logging:Console:FormatterName"] = "json",
                // The structured-log checks read the stream disconnect lines, which are Information.
                ["Logging:LogLevel:Default"] = "Information",
            };
            await using var node = await HeraldTestNode.StartProcessAsync(settings);
            ConcurrentQueue<(long EventId, long MessageId)> seen = new();
            ConcurrentQueue<long> acknowledged = new();
            string url;
            string query;
            using (var client = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(10) })
            {
                (url, query) = await OpenGuestDialogAsync(client);
                await using var sse = await SseTestClient.ConnectAsync(client, url + "/events?" + query);
                await using var ws = await WsTestClient.ConnectAsync(node.BaseAddress, $"/ws/widget/{url["/api/".Length..]}?{query}");
                await ws.SendAsync("__ping__");
                Assert.Equal("__pong__", await ws.ReceiveAsync());

                string? farewell = null;
                var reader = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            var item = await sse.NextAsync(TimeSpan.FromSeconds(20));
                            if (item.EventType == "message")
                            {
                                seen.Enqueue((long.Parse(item.EventId!), MessageId(item.Data)));
                            }
                            else if (item.EventType == "disconnect")
                            {
                                farewell = item.Data;
                            }
                        }
                    }
                    catch (ChannelClosedException)
                    {
                        // The server ended the stream.
                    }
                });

                using var stopPosting = new CancellationTokenSource();
                var poster = Task.Run(async () =>
                {
                    for (var i = 0; !stopPosting.IsCancellationRequested; i++)
                    {
                        try
                        {
                            using var posted = await client.PostAsJsonAsync($"/api/widget{url["/api".Length..]}/messages?{query}",
                                new { sender = "user", text = $"m{i}" }, stopPosting.Token);
                            if (posted.StatusCode != HttpStatusCode.Created)
                            {
                                return; // refused while the node goes down: never acknowledged, so never promised
                            }

                            acknowledged.Enqueue((await posted.Content.ReadFromJsonAsync<JsonElement>(stopPosting.Token)).GetProperty("id").GetInt64());
                        }
                        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException or IOException)
                        {
                            return;
                        }
                    }
                });

                await Poll.UntilAsync(() => acknowledged.Count >= 20 && seen.Count >= 10, Patience);
                // Like a browser, the socket's owner keeps reading, so it answers the server's close frame at once.
                var closed = ws.WaitForCloseAsync(TimeSpan.FromSeconds(15));
                var stopwatch = Stopwatch.StartNew();
                var exitCode = await node.StopAsync(DrainTimeout + TimeSpan.FromSeconds(10));
                var exitedAfter = stopwatch.Elapsed;
                Assert.True(exitedAfter < DrainTimeout, $"exit took {exitedAfter}, the drain timeout is {DrainTimeout}");
                Assert.Equal(0, exitCode);

                var (code, reason) = await closed.WaitAsync(TimeSpan.FromSeconds(5));
                Assert.Equal(1012, code);
                Assert.Equal("shutting_down", reason);
                await reader.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.NotNull(farewell);
                Assert.InRange(sse.Parser.ReconnectionInterval.TotalMilliseconds, 1000, 3000);
                await stopPosting.CancelAsync();
                await poster.WaitAsync(TimeSpan.FromSeconds(10));
                AssertStructuredLogs(node.Output);
            }

            // Same data directory, same port, new process: resume after the last event the stream saw.
            await node.StartAsync();
            using var client2 = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            await using var resumed = await SseTestClient.ConnectAsync(client2, url + "/events?" + query, seen.Last().EventId.ToString());
            var delivered = seen.ToList();
            var missing = acknowledged.Except(delivered.Select(d => d.MessageId)).ToHashSet();
            while (missing.Count > 0)
            {
                var item = await resumed.NextAsync(TimeSpan.FromSeconds(10));
                Assert.NotEqual("reset", item.EventType);
                if (item.EventType == "message")
                {
                    var messageId = MessageId(item.Data);
                    delivered.Add((long.Parse(item.EventId!), messageId));
                    missing.Remove(messageId);
                }
            }

            Assert.True(acknowledged.Count >= 20);
            Assert.Equal(delivered.Count, delivered.Select(d => d.MessageId).Distinct().Count());
            Assert.Equal(delivered.Select(d => d.EventId).Order(), delivered.Select(d => d.EventId));
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // JSON console logs (Logging:Console:FormatterName=json) keep seed 000's categories greppable and carry the fields.
    private static void AssertStructuredLogs(string output)
    {
        var entries = output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Contains("\"Category\":\"WIDGET→ADMIN\"", output, StringComparison.Ordinal);
        var disconnects = entries.Where(e => e.GetProperty("Category").GetString() == "SSE Manager" && e.GetProperty("EventId").GetInt32() == 101).ToList();
        foreach (var transport in new[] { "sse", "websocket" })
        {
            Assert.Contains(disconnects, e => e.GetProperty("State").GetProperty("Transport").GetString() == transport
                && e.GetProperty("State").GetProperty("Reason").GetString() == "shutting_down"
                && e.GetProperty("State").GetProperty("Topics").GetString()!.StartsWith("dialog:", StringComparison.Ordinal));
        }

        Assert.Contains(entries, e => e.GetProperty("Category").GetString() == "SSE Manager" && e.GetProperty("EventId").GetInt32() == 111);
    }

    private static long MessageId(string data) => JsonDocument.Parse(data).RootElement.GetProperty("message").GetProperty("id").GetInt64();

    /// <summary>Logs in as the development admin, creates an assistant and a guest dialog; returns the dialog's URL and the guest query.</summary>
    private static async Task<(string DialogUrl, string GuestQuery)> OpenGuestDialogAsync(HttpClient client)
    {
        using var login = await client.PostAsJsonAsync("/api/auth/login", new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword });
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/assistants") { Content = JsonContent.Create(new { name = "Drain" }) };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var created = await client.SendAsync(create);
        var assistant = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var query = $"assistant_id={assistant}&guest_id=drain";
        using var dialog = await client.PostAsync($"/api/widget/dialogs?{query}", null);
        var id = (await dialog.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        return ($"/api/dialogs/{id}", query);
    }
}
