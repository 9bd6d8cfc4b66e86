using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Server.Auth;
using Herald.Server.Backplane;
using Herald.Server.Events;
using Herald.Server.Hub;
using Herald.Server.Pipeline;
using Herald.Server.Tests.Infrastructure;
using Herald.Testing;
using Microsoft.Data.Sqlite;

namespace Herald.Server.Tests.Hub;

/// <summary>
/// Every long-lived loop of a node survives a fault in one iteration: it goes on, and the fault is counted in
/// <c>herald_loop_faults_total{loop}</c>. The faults are injected through what a real node has: a connection whose
/// abort throws (a transport's abort delegate), a metrics listener that throws, a store table that is briefly gone.
/// </summary>
public sealed class LoopFaultTests
{
    private const string Topic = "loops";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Heartbeat_ConnectionWhoseAbortThrows_OtherConnectionsKeepGettingHeartbeats()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Streams:HeartbeatInterval"] = "00:00:00.400",
            ["Herald:Streams:WriteTimeout"] = "00:00:01",
        });
        var tracker = server.GetService<ConnectionTracker>();
        var (faulty, aborted) = FaultySubscriber(maxQueued: 16);
        // A write that began a minute ago: the heartbeat aborts the connection, and the abort throws.
        faulty.WriteStartedTicks = Environment.TickCount64 - 60_000;
        Assert.True(tracker.TryReserve("faulty"));
        tracker.Add(faulty);
        try
        {
            await aborted.WaitAsync(Timeout);

            using var op = await server.OperatorClientAsync();
            using var response = await op.GetAsync($"/api/events?topic={Topic}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var heartbeats = 0;
            while (heartbeats < 2)
            {
                var line = await reader.ReadLineAsync().WaitAsync(Timeout);
                if (line == ": heartbeat")
                {
                    heartbeats++;
                }
            }

            await AssertFaultCountedAsync(server, "heartbeat");
        }
        finally
        {
            tracker.Remove(faulty);
        }
    }

    [Fact]
    public async Task FanOut_SubscriberWhoseAbortThrows_OthersGetEveryEventInOrder()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var registry = server.GetService<TopicRegistry>();
        // Queue of one, never drained: the second event overflows it, and its abort throws. Added first, so the
        // subscriber after it in the topic's list is the one that used to miss the event.
        var (faulty, aborted) = FaultySubscriber(maxQueued: 1);
        registry.Add(faulty);
        try
        {
            using var op = await server.OperatorClientAsync();
            await using var stream = await SseTestClient.ConnectAsync(op, $"/api/events?topic={Topic}");
            for (var n = 1; n <= 3; n++)
            {
                await PublishAsync(op, n, durable: true);
            }

            var items = await stream.TakeAsync(3, Timeout);
            Assert.Equal([1, 2, 3], items.Select(Number));
            var ids = items.Select(i => long.Parse(i.EventId!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal([ids[0], ids[0] + 1, ids[0] + 2], ids);
            Assert.True(aborted.IsCompleted);
            await AssertFaultCountedAsync(server, "dispatcher");
        }
        finally
        {
            registry.Remove(faulty);
        }
    }

    [Fact]
    public async Task Writer_FaultAfterCommit_WriteSucceedsItsEventIsDeliveredAndTheWriterGoesOn()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var factory = server.GetService<IMeterFactory>();
        var thrown = 0;
        // A metrics listener runs inside the instrument's Record call: one that throws throws into the writer,
        // right after a batch has committed.
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "herald.store.write_batch.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
        {
            if (Interlocked.Exchange(ref thrown, 1) == 0)
            {
                throw new InvalidOperationException("injected: a metrics listener failed");
            }
        });
        listener.Start();

        using var op = await server.OperatorClientAsync();
        await using var stream = await SseTestClient.ConnectAsync(op, $"/api/events?topic={Topic}");
        var first = await PublishAsync(op, 1, durable: true);
        var second = await PublishAsync(op, 2, durable: true);

        Assert.Equal(1, Volatile.Read(ref thrown));
        Assert.Equal(first + 1, second);
        var items = await stream.TakeAsync(2, Timeout);
        Assert.Equal([1, 2], items.Select(Number));
        await AssertFaultCountedAsync(server, "writer");
    }

    [Fact]
    public async Task Retention_StoreFails_PassesGoOnAndTrimOnceTheStoreIsBack()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string>
        {
            ["Herald:Storage:RetentionInterval"] = "00:00:00.200",
            ["Herald:Storage:RetainEventsPerTopic"] = "1",
            ["Herald:Storage:RetainEventsFor"] = "00:00:00.001",
        });
        await using var db = OpenDatabase(server);
        await ExecuteAsync(db, "ALTER TABLE events RENAME TO events_hidden");
        try
        {
            // Two faults: the loop ran again after the first.
            await Poll.UntilAsync(async () => (await ScrapeAsync(server))[Series("retention")] >= 2, Timeout);
        }
        finally
        {
            await ExecuteAsync(db, "ALTER TABLE events_hidden RENAME TO events");
        }

        using var op = await server.OperatorClientAsync();
        for (var n = 1; n <= 3; n++)
        {
            await PublishAsync(op, n, durable: true);
        }

        await Poll.UntilAsync(async () => await CountAsync(db, $"SELECT COUNT(*) FROM events WHERE topic = '{Topic}'") == 1, Timeout);
    }

    [Fact]
    public async Task StoreWatcher_StoreFails_KeepsWatching()
    {
        await using var redis = new RedisServerFixture();
        await redis.InitializeAsync();
        await using var server = await HeraldTestNode.StartInProcessAsync(new Dictionary<string, string> { ["Herald:Redis:Url"] = redis.Url });
        await Poll.UntilAsync(() => server.GetService<IEventBus>().State == "connected", Timeout);
        await using var db = OpenDatabase(server);
        await ExecuteAsync(db, "ALTER TABLE herald_sequences RENAME TO herald_sequences_hidden");
        try
        {
            // The watcher looks every 2 s while Redis is connected; two faults mean it looked again after the first.
            await Poll.UntilAsync(async () => (await ScrapeAsync(server))[Series("store_watcher")] >= 2, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await ExecuteAsync(db, "ALTER TABLE herald_sequences_hidden RENAME TO herald_sequences");
        }
    }

    [Fact]
    public async Task GrantWatcher_StoreFails_KeepsRecheckingOpenStreams()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var guest = await server.OpenGuestDialogAsync("unsigned");
        await using var stream = await SseTestClient.ConnectAsync(server.Client, $"/api/dialogs/{guest.DialogId}/events?{guest.Query}");
        await using var db = OpenDatabase(server);
        await ExecuteAsync(db, "ALTER TABLE assistants RENAME TO assistants_hidden");
        try
        {
            // A pass every 2 s while a widget stream is open; two faults mean it looked again after the first.
            await Poll.UntilAsync(async () => (await ScrapeAsync(server))[Series("grant_watcher")] >= 2, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await ExecuteAsync(db, "ALTER TABLE assistants_hidden RENAME TO assistants");
        }

        using var op = await server.OperatorClientAsync();
        using (var rule = await op.PutAsJsonAsync($"/api/assistants/{guest.AssistantId}/identity", new { require_verified_identity = true }))
        {
            Assert.Equal(HttpStatusCode.OK, rule.StatusCode);
        }

        Assert.Equal("disconnect", (await stream.NextAsync(TimeSpan.FromSeconds(5))).EventType);
    }

    [Fact]
    public async Task RedisReceive_FaultOnAMessageFromAnotherNode_LaterMessagesStillArrive()
    {
        await using var redis = new RedisServerFixture();
        await redis.InitializeAsync();
        var directory = Directory.CreateTempSubdirectory("herald-loops-").FullName;
        try
        {
            var settings = new Dictionary<string, string> { ["Herald:Redis:Url"] = redis.Url };
            await using var a = await HeraldTestNode.StartInProcessAsync(settings, directory);
            await using var b = await HeraldTestNode.StartInProcessAsync(settings, directory);
            await Poll.UntilAsync(() => a.GetService<IEventBus>().State == "connected" && b.GetService<IEventBus>().State == "connected", Timeout);

            var registry = b.GetService<TopicRegistry>();
            var (faulty, aborted) = FaultySubscriber(maxQueued: 1);
            registry.Add(faulty);
            try
            {
                using var onB = await b.OperatorClientAsync();
                await using var stream = await SseTestClient.ConnectAsync(onB, $"/api/events?topic={Topic}");
                using var onA = await a.OperatorClientAsync();
                // Ephemeral: only the backplane's receive loop brings them to B (no store catch-up covers them).
                for (var n = 1; n <= 3; n++)
                {
                    await PublishAsync(onA, n, durable: false);
                }

                var items = await stream.TakeAsync(3, Timeout);
                Assert.Equal([1, 2, 3], items.Select(Number));
                Assert.True(aborted.IsCompleted);
                await AssertFaultCountedAsync(b, "dispatcher");
            }
            finally
            {
                registry.Remove(faulty);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Lease_WarningFaults_NodeSurvivesAndFaultIsCounted()
    {
        await using var server = await HeraldTestNode.StartInProcessAsync();
        var host = server.GetService<StreamHost>();
        var (faulty, aborted) = FaultySubscriber(maxQueued: 1);
        Assert.True(faulty.TryEnqueue(new HubEvent(0, Topic, "tick", "{}"u8.ToArray(), 0)));
        // Expiring within the warning lead (60 s): the warning is due at once, overflows the full queue, and the
        // abort throws on the lease's timer thread — where an exception used to end the process.
        using var lease = host.Lease(faulty, new OperatorPrincipal(1, "op@herald.local", DateTimeOffset.UtcNow.AddSeconds(30)));
        Assert.NotNull(lease);
        await aborted.WaitAsync(Timeout);
        await AssertFaultCountedAsync(server, "lease");
    }

    private static (Subscriber Subscriber, Task Aborted) FaultySubscriber(int maxQueued)
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = new Subscriber("test", [Topic], maxQueued, 1 << 20)
        {
            Abort = () =>
            {
                aborted.TrySetResult();
                throw new InvalidOperationException("injected: the connection's abort failed");
            },
        };
        return (subscriber, aborted.Task);
    }

    private static async Task<long> PublishAsync(HttpClient client, int n, bool durable)
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var response = await client.PostAsJsonAsync("/api/publish", new { topic = Topic, @event = "tick", data = new { n }, durable }, cts.Token);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
        Assert.True(response.IsSuccessStatusCode, $"publish {n}: {(int)response.StatusCode} {body}");
        return durable ? body.GetProperty("id").GetInt64() : 0;
    }

    private static int Number(System.Net.ServerSentEvents.SseItem<string> item) =>
        JsonDocument.Parse(item.Data).RootElement.GetProperty("n").GetInt32();

    private static string Series(string loop) => $"herald_loop_faults_total{{loop=\"{loop}\"}}";

    private static async Task<MetricsScrape> ScrapeAsync(HeraldTestNode server) => await MetricsScrape.ReadAsync(server.Client);

    private static async Task AssertFaultCountedAsync(HeraldTestNode server, string loop)
    {
        var scrape = await ScrapeAsync(server);
        Assert.Equal("counter", scrape.TypeOf("herald_loop_faults_total"));
        Assert.True(scrape[Series(loop)] >= 1, $"{Series(loop)} not counted:\n{scrape.Text}");
    }

    private static SqliteConnection OpenDatabase(HeraldTestNode server)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(server.DataDirectory, "herald.db"),
            DefaultTimeout = 10,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(SqliteConnection db, string sql)
    {
        await using var command = db.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
