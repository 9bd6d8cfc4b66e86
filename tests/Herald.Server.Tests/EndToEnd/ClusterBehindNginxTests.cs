using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Cli.Doctor;
using Herald.Cli.Tests.Doctor;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Xunit.Abstractions;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Issue 9 with two nodes: deploy/nginx.conf in front of two Herald processes that share PostgreSQL and Redis.
/// <c>herald doctor</c> passes through it (its test messages cross the nodes), and a rolling restart — SIGTERM to
/// one node, start it again, then the other — under a steady flow of messages loses nothing: every SSE, WebSocket
/// and long-poll client behind nginx ends with every message exactly once, in order.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
[Collection(ProcessTestsCollection.Name)]
public sealed class ClusterBehindNginxTests(ITestOutputHelper output) : IAsyncLifetime
{
    // These conditions involve whole processes (restarts, failover): they get longer than Poll's default.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);
    private readonly RedisServerFixture _redis = new();
    private PostgresFixture _postgres = null!;
    private HeraldTestNode[] _nodes = [];
    private NginxFixture _nginx = null!;

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _postgres = await PostgresFixture.StartAsync();
        await _postgres.CreateDatabaseAsync("cluster");
        var settings = new Dictionary<string, string>
        {
            ["Herald:Storage:Provider"] = "postgres",
            ["Herald:Storage:ConnectionString"] = _postgres.ConnectionString("cluster"),
            ["Herald:Redis:Url"] = _redis.Url,
            ["Herald:Auth:SigningKey"] = "cluster-test-signing-key-shared-by-both-nodes-42",
            ["Herald:Shutdown:DrainTimeout"] = DrainTimeout.ToString(),
        };
        var starting = new[] { HeraldTestNode.StartProcessAsync(settings), HeraldTestNode.StartProcessAsync(settings) };
        _nodes = await Task.WhenAll(starting);
        foreach (var node in _nodes)
        {
            await WaitForRedisAsync(node);
        }

        _nginx = await NginxFixture.StartDeployConfigAsync(_nodes.Select(n => n.BaseAddress).ToList());
    }

    public async Task DisposeAsync()
    {
        if (_nginx is not null)
        {
            await _nginx.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoNodesBehindNginx_DoctorPasses_AndARollingRestartUnderLoadLosesNothing()
    {
        // 1. The doctor through nginx, as an operator: six test messages, so posts and the stream meet different nodes.
        var report = await DoctorRun.RunAsync(new DoctorOptions
        {
            BaseUrl = _nginx.BaseAddress,
            Email = HeraldTestNode.AdminEmail,
            Password = HeraldTestNode.AdminPassword,
            Messages = 6,
        });
        output.WriteLine(report.ToText());
        Assert.True(report.Ok, report.ToText());
        Assert.Equal(CheckStatus.Pass, report.Find("redis")!.Status);

        // 2. Clients of every transport through nginx, and a publisher posting through nginx.
        using var http = new HttpClient { BaseAddress = _nginx.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var guest = await OpenDialogAsync(http);
        var start = (await http.GetFromJsonAsync<JsonElement>($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}")).GetProperty("last_event_id").GetInt64();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 12).Select(i => new ResumingClient((Kind)(i % 3), _nginx.BaseAddress, guest, start, stop.Token)).ToList();
        var running = clients.Select(c => c.RunAsync()).ToList();
        await Poll.UntilAsync(() => clients.All(c => c.Connections > 0), Patience);

        var posted = new ConcurrentQueue<string>();
        using var stopPosting = new CancellationTokenSource();
        var publisher = Task.Run(() => PublishAsync(guest, posted, stopPosting.Token));
        await Poll.UntilAsync(() => posted.Count >= 10, Patience);

        // 3. Rolling restart: each node drains on SIGTERM, exits within the timeout and comes back.
        foreach (var node in _nodes)
        {
            var stopwatch = Stopwatch.StartNew();
            Assert.Equal(0, await node.StopAsync(DrainTimeout + TimeSpan.FromSeconds(10)));
            Assert.True(stopwatch.Elapsed < DrainTimeout, $"drain took {stopwatch.Elapsed}");
            output.WriteLine($"{node.BaseAddress} stopped after {stopwatch.ElapsedMilliseconds} ms; {posted.Count} messages posted so far");
            var before = posted.Count;
            await Poll.UntilAsync(() => posted.Count >= before + 5, Patience); // the other node carries the load alone
            await node.StartAsync();
            await WaitForRedisAsync(node);
            // The documented procedure: the next node may stop once this one takes traffic from nginx again
            // (within fail_timeout of its return); its own commits show it.
            using var direct = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
            await Poll.UntilAsync(async () => (await MetricsScrape.ReadAsync(direct))["herald_events_published_total"] > 0, Patience);
        }

        var last = posted.Count;
        await Poll.UntilAsync(() => posted.Count >= last + 10, Patience);
        await stopPosting.CancelAsync();
        await publisher;

        // 4. Every client has every message exactly once, in order.
        var expected = posted.ToList();
        await Poll.UntilAsync(() => clients.All(c => c.Texts.Count >= expected.Count), TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(15));
        output.WriteLine($"{expected.Count} messages; connections per client: {string.Join(", ", clients.Select(c => $"{c.Kind}={c.Connections}"))}");
        foreach (var client in clients)
        {
            Assert.True(client.Errors.IsEmpty, $"{client.Kind}: {string.Join("; ", client.Errors.Take(3))}");
            Assert.Equal(expected, client.Texts);
            if (client.Kind != Kind.Poll)
            {
                // Both nodes restarted, so every stream was drained once at least and resumed on the other node.
                Assert.True(client.Connections > 1, $"a {client.Kind} client was never moved to the other node");
            }
        }
    }

    // Posts through nginx; a failed POST (a node going down between nginx and Herald) is retried with the same
    // client_message_id, so it is stored once however often it is sent.
    private static async Task PublishAsync(ProxiedGuest guest, ConcurrentQueue<string> posted, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var text = $"m{i}";
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var response = await http.PostAsJsonAsync(new Uri(guest.Proxy, $"/api/widget/dialogs/{guest.DialogId}/messages?{guest.Query}"),
                        new { text, client_message_id = $"cluster-{i}" }, CancellationToken.None);
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                }

                Assert.True(attempt < 100, $"message {i} could not be posted through nginx");
                await Task.Delay(50, CancellationToken.None);
            }

            posted.Enqueue(text);
            await Task.Delay(25, CancellationToken.None);
        }
    }

    private async Task<ProxiedGuest> OpenDialogAsync(HttpClient http)
    {
        using var login = await http.PostAsJsonAsync("/api/auth/login", new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword });
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/assistants") { Content = JsonContent.Create(new { name = "Cluster" }) };
        create.Headers.Authorization = new("Bearer", token);
        using var created = await http.SendAsync(create);
        var assistant = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        using var dialog = await http.PostAsync($"/api/widget/dialogs?assistant_id={assistant}&guest_id=cluster", null);
        return new ProxiedGuest(_nginx.BaseAddress, (await dialog.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64(), $"assistant_id={assistant}&guest_id=cluster");
    }

    private static async Task WaitForRedisAsync(HeraldTestNode node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>("/api/sse/health")).GetProperty("redis").GetString() == "connected", Patience);
    }



    private enum Kind
    {
        Sse,
        WebSocket,
        Poll,
    }

    private sealed record ProxiedGuest(Uri Proxy, long DialogId, string Query);

    /// <summary>
    /// A client that does what herald.js does: stays connected through nginx and, whenever the connection ends
    /// (a drained node), reconnects and resumes after the last event id it has.
    /// </summary>
    private sealed class ResumingClient(Kind kind, Uri proxy, ProxiedGuest guest, long startAfter, CancellationToken stop)
    {
        private readonly Lock _gate = new();
        private readonly List<string> _texts = [];
        private long _last = startAfter;

        public Kind Kind { get; } = kind;

        public int Connections { get; private set; }

        public ConcurrentQueue<string> Errors { get; } = new();

        public List<string> Texts
        {
            get
            {
                lock (_gate)
                {
                    return [.. _texts];
                }
            }
        }

        public async Task RunAsync()
        {
            using var http = new HttpClient { BaseAddress = proxy, Timeout = Timeout.InfiniteTimeSpan };
            while (!stop.IsCancellationRequested)
            {
                Connections++;
                try
                {
                    await (Kind switch
                    {
                        Kind.Sse => SseAsync(http),
                        Kind.WebSocket => WebSocketAsync(),
                        _ => PollAsync(http),
                    });
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or WebSocketException or JsonException)
                {
                }

                if (!stop.IsCancellationRequested)
                {
                    // A browser waits the server's retry (1-3 s on a drain); a short pause keeps the test quick.
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        }

        private void Record(long id, JsonElement data)
        {
            lock (_gate)
            {
                if (id <= _last)
                {
                    Errors.Enqueue($"id {id} after {_last}: duplicate or out of order");
                    return;
                }

                _last = id;
                _texts.Add(data.GetProperty("message").GetProperty("text").GetString()!);
            }
        }

        private async Task SseAsync(HttpClient http)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
            request.Headers.Add("Last-Event-ID", _last.ToString());
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop);
            if (!response.IsSuccessStatusCode)
            {
                return;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(stop);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(stop))
            {
                if (item.EventType == "reset")
                {
                    Errors.Enqueue("unexpected reset");
                }
                else if (item.EventType == "message")
                {
                    Record(long.Parse(item.EventId!), JsonDocument.Parse(item.Data).RootElement);
                }
            }
        }

        private async Task WebSocketAsync()
        {
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://{proxy.Authority}/ws/widget/dialogs/{guest.DialogId}?{guest.Query}&last_event_id={_last}"), stop);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), stop);
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var json = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, length)).RootElement;
                if (json.TryGetProperty("event_id", out var id) && json.TryGetProperty("type", out var type) && type.GetString() == "message:new")
                {
                    Record(id.GetInt64(), json);
                }
            }
        }

        private async Task PollAsync(HttpClient http)
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.GetAsync($"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={_last}&timeout=5", stop);
                if (!response.IsSuccessStatusCode)
                {
                    return;
                }

                var page = await response.Content.ReadFromJsonAsync<JsonElement>(stop);
                foreach (var e in page.GetProperty("events").EnumerateArray())
                {
                    if (e.GetProperty("event").GetString() == "message")
                    {
                        Record(e.GetProperty("id").GetInt64(), e.GetProperty("data"));
                    }
                }
            }
        }
    }
}
