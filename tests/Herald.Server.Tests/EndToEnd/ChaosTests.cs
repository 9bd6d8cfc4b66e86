using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Xunit.Abstractions;

namespace Herald.Server.Tests.EndToEnd;

/// <summary>
/// Chaos, bounded in time and count, loopback only: two nodes, Redis and PostgreSQL; clients on SSE, WebSocket and
/// long-poll; while messages flow, clients drop at random, one node is killed with SIGKILL and restarted, and Redis
/// is restarted. At the end every client has every message of its dialog exactly once, in order.
/// </summary>
/// <remarks>
/// CI runs the short form. The long form: <c>HERALD_CHAOS_MESSAGES=3000 HERALD_CHAOS_CLIENTS=600 dotnet test
/// tests/Herald.Server.Tests --filter FullyQualifiedName~ChaosTests</c>.
/// </remarks>
[Trait(TestCategories.Name, TestCategories.Slow)]
public sealed class ChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Dialogs = 10;
    private readonly int _messages = int.TryParse(Environment.GetEnvironmentVariable("HERALD_CHAOS_MESSAGES"), out var m) ? m : 300;
    private readonly int _clients = int.TryParse(Environment.GetEnvironmentVariable("HERALD_CHAOS_CLIENTS"), out var c) ? c : 210;
    private readonly RedisServerFixture _redis = new();
    private PostgresFixture _postgres = null!;
    private HeraldTestNode[] _nodes = [];

    public async Task InitializeAsync()
    {
        await _redis.InitializeAsync();
        _postgres = await PostgresFixture.StartAsync();
        await _postgres.CreateDatabaseAsync("chaos");
        var settings = new Dictionary<string, string>
        {
            ["Herald:Storage:Provider"] = "postgres",
            ["Herald:Storage:ConnectionString"] = _postgres.ConnectionString("chaos"),
            ["Herald:Redis:Url"] = _redis.Url,
            ["Herald:Auth:SigningKey"] = "chaos-test-signing-key-shared-by-both-nodes-0123",
            ["Herald:Streams:RetryMilliseconds"] = "200",
            ["Herald:Streams:RetryJitterMilliseconds"] = "200",
        };
        _nodes = [await HeraldTestNode.StartProcessAsync(settings), await HeraldTestNode.StartProcessAsync(settings)];
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Fact]
    public async Task Chaos_EveryClientGetsEveryMessageExactlyOnceInOrder()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var a = _nodes[0].BaseAddress;
        var token = (await (await http.PostAsJsonAsync(new Uri(a, "/api/auth/login"), new { email = HeraldTestNode.AdminEmail, password = HeraldTestNode.AdminPassword }))
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString();
        using var create = new HttpRequestMessage(HttpMethod.Post, new Uri(a, "/api/assistants")) { Content = JsonContent.Create(new { name = "Chaos" }) };
        create.Headers.Authorization = new("Bearer", token);
        var assistant = (await (await http.SendAsync(create)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        var guests = new Guest[Dialogs];
        for (var d = 0; d < Dialogs; d++)
        {
            var dialog = await (await http.PostAsync(new Uri(a, $"/api/widget/dialogs?assistant_id={assistant}&guest_id=chaos-{d}"), null)).Content.ReadFromJsonAsync<JsonElement>();
            guests[d] = new Guest(assistant, $"chaos-{d}", dialog.GetProperty("id").GetInt64());
        }

        var start = (await http.GetFromJsonAsync<JsonElement>(new Uri(a, "/api/sse/health"))).GetProperty("last_event_id").GetInt64();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, _clients).Select(i => new ChaosClient(i, guests[i % Dialogs], (Kind)(i % 3), start, _nodes, stop.Token)).ToList();
        var clientTasks = clients.Select(client => client.RunAsync()).ToList();

        // Publisher: messages round-robin over the dialogs, each POST idempotent and retried on the other node until it lands.
        var expected = Enumerable.Range(0, Dialogs).Select(_ => new List<string>()).ToArray();
        var publisher = Task.Run(async () =>
        {
            using var post = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            for (var i = 0; i < _messages; i++)
            {
                var d = i % Dialogs;
                var text = $"msg-{i}";
                for (var attempt = 0; ; attempt++)
                {
                    var node = _nodes[(i + attempt) % 2];
                    try
                    {
                        using var response = await post.PostAsJsonAsync(new Uri(node.BaseAddress, $"/api/widget/dialogs/{guests[d].DialogId}/messages?{guests[d].Query}"),
                            new { text, client_message_id = $"c{i}" });
                        if (response.IsSuccessStatusCode)
                        {
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }

                    Assert.True(attempt < 200, $"message {i} could not be posted on either node");
                    await Task.Delay(50);
                }

                expected[d].Add(text);
                await Task.Delay(40);
            }
        });

        // The faults, spread over the publishing window.
        var window = TimeSpan.FromMilliseconds(_messages * 45);
        await Task.Delay(window * 0.2);
        output.WriteLine("SIGKILL node B");
        await _nodes[1].KillAsync();
        await Task.Delay(window * 0.15);
        output.WriteLine("restart node B");
        await _nodes[1].StartAsync();
        await Task.Delay(window * 0.15);
        output.WriteLine("restart Redis");
        await _redis.RestartAsync();
        await publisher;

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && clients.Any(c => c.Received.Count < expected[c.DialogIndex].Count))
        {
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        await Task.WhenAll(clientTasks);

        var reconnects = clients.Sum(c => c.Connections);
        output.WriteLine($"{_clients} clients, {_messages} messages, {reconnects} connections made, {clients.Sum(c => c.Received.Count)} deliveries");
        foreach (var client in clients)
        {
            Assert.True(client.Errors.IsEmpty, $"client {client.Index} ({client.Kind}): {string.Join("; ", client.Errors.Take(3))}");
            Assert.Equal(expected[client.DialogIndex], client.Received.Select(r => r.Text));
            Assert.True(client.Connections > 1, $"client {client.Index} was never disconnected; the test did not exercise recovery");
        }
    }

    private enum Kind
    {
        Sse,
        WebSocket,
        Poll,
    }

    private sealed class ChaosClient(int index, Guest guest, Kind kind, long startAfter, HeraldTestNode[] nodes, CancellationToken stop)
    {
        private readonly Random _random = new(index);
        private long _last = startAfter;

        public int Index { get; } = index;

        public Kind Kind { get; } = kind;

        public int DialogIndex { get; } = (int)(index % Dialogs);

        public List<(long Id, string Text)> Received { get; } = [];

        public ConcurrentQueue<string> Errors { get; } = new();

        public int Connections { get; private set; }

        public async Task RunAsync()
        {
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            while (!stop.IsCancellationRequested)
            {
                var node = nodes[_random.Next(nodes.Length)].BaseAddress;
                // Random drops: every connection lives 0.5-3 s at most.
                using var life = CancellationTokenSource.CreateLinkedTokenSource(stop);
                life.CancelAfter(TimeSpan.FromMilliseconds(_random.Next(500, 3000)));
                Connections++;
                try
                {
                    switch (Kind)
                    {
                        case Kind.Sse:
                            await SseAsync(http, node, life.Token);
                            break;
                        case Kind.WebSocket:
                            await WebSocketAsync(node, life.Token);
                            break;
                        default:
                            await PollAsync(http, node, life.Token);
                            break;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or WebSocketException or JsonException)
                {
                }

                if (!stop.IsCancellationRequested)
                {
                    await Task.Delay(_random.Next(20, 200), CancellationToken.None);
                }
            }
        }

        private void Record(long id, string type, JsonElement data)
        {
            if (type == "reset")
            {
                Errors.Enqueue($"unexpected reset at {id}");
                return;
            }

            if (id <= _last)
            {
                Errors.Enqueue($"id {id} after {_last}: duplicate or out of order");
                return;
            }

            _last = id;
            if (type is "message" or "message:new")
            {
                Received.Add((id, data.GetProperty("message").GetProperty("text").GetString()!));
            }
        }

        private async Task SseAsync(HttpClient http, Uri node, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}"));
            request.Headers.Add("Last-Event-ID", _last.ToString());
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
            {
                return;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(ct))
            {
                if (long.TryParse(item.EventId, out var id))
                {
                    Record(id, item.EventType, JsonDocument.Parse(item.Data).RootElement);
                }
            }
        }

        private async Task WebSocketAsync(Uri node, CancellationToken ct)
        {
            using var socket = new ClientWebSocket();
            var uri = new Uri($"ws://{node.Authority}/ws/widget/dialogs/{guest.DialogId}?{guest.Query}&last_event_id={_last}");
            await socket.ConnectAsync(uri, ct);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var length = 0;
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), ct);
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var json = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, length)).RootElement;
                if (json.TryGetProperty("event_id", out var id))
                {
                    Record(id.GetInt64(), json.TryGetProperty("event", out var e) ? e.GetString()! : json.GetProperty("type").GetString()!, json);
                }
            }
        }

        private async Task PollAsync(HttpClient http, Uri node, CancellationToken ct)
        {
            while (true)
            {
                var page = await http.GetFromJsonAsync<JsonElement>(new Uri(node, $"/api/dialogs/{guest.DialogId}/poll?{guest.Query}&after_id={_last}&timeout=2"), ct);
                foreach (var e in page.GetProperty("events").EnumerateArray())
                {
                    Record(e.GetProperty("id").GetInt64(), e.GetProperty("event").GetString()!, e.GetProperty("data"));
                }
            }
        }
    }
}
