using System.Text;
using Herald.Server.Dialogs;
using Herald.Server.Hub;
using Herald.Server.Storage;
using Herald.Testing;

namespace Herald.Server.Tests.Storage;

/// <summary>
/// The storage contract every engine must keep; run against SQLite and against a real PostgreSQL cluster.
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    protected SqlStore Store { get; private set; } = null!;

    /// <summary>A second, independent store on the same database: another node.</summary>
    protected abstract Task<SqlStore> OpenAsync();

    public virtual async Task InitializeAsync()
    {
        Store = await OpenAsync();
        await Store.MigrateAsync();
    }

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    private static async Task<IReadOnlyList<HubEvent>> PublishAsync(SqlStore store, string topic, int count) =>
        await store.CommitBatchAsync(
            Enumerable.Range(0, count).Select(i => (WriteCommand)new PublishEventCommand(topic, "message", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"))).ToList(),
            [], CancellationToken.None);

    [Fact]
    public async Task Migrate_Twice_IsANoOp()
    {
        await Store.MigrateAsync();
        Assert.Equal(0, await Store.CountOperatorsAsync());
    }

    [Fact]
    public async Task CommitBatch_IdsAreGaplessAndIncreasing_AndReadableByTopic()
    {
        var a = await PublishAsync(Store, "a", 3);
        var b = await PublishAsync(Store, "b", 2);
        var ids = a.Concat(b).Select(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range((int)ids[0], 5).Select(i => (long)i), ids);
        Assert.Equal(ids[^1], await Store.GetLastEventIdAsync());

        var onlyA = await Store.ReadEventsAsync(["a"], 0, 100);
        Assert.Equal(a.Select(e => e.Id), onlyA.Select(e => e.Id));
        var both = await Store.ReadEventsAsync(["a", "b"], a[0].Id, 100);
        Assert.Equal(ids.Skip(1), both.Select(e => e.Id));
        Assert.Equal("{\"n\":1}", both[0].Data);
    }

    [Fact]
    public async Task CommitBatch_FailingCommand_CommitsNothing()
    {
        var before = await Store.GetLastEventIdAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => Store.CommitBatchAsync(
            [new PublishEventCommand("a", "message", "1"u8.ToArray()), new PostMessageCommand(dialogId: 999_999, "user", "no such dialog")],
            [], CancellationToken.None));
        Assert.Equal(before, await Store.GetLastEventIdAsync());
        Assert.Empty(await Store.ReadEventsAsync(["a"], before, 10));
    }

    [Fact]
    public async Task ChatCommands_StoreMessageAndEmitItsEvents()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "g1"), new GetOrCreateGuestDialogCommand(assistant.Id, "g1")], results, CancellationToken.None);
        var (dialog, created) = ((DialogRecord, bool))results[0]!;
        Assert.True(created);
        Assert.False((((DialogRecord, bool))results[1]!).Item2);

        var events = await Store.CommitBatchAsync([new PostMessageCommand(dialog.Id, "user", "Привет")], results, CancellationToken.None);
        Assert.Equal([DialogTopics.For(dialog.Id), DialogTopics.OperatorFeed, DialogTopics.OperatorFeed], events.Select(e => e.Topic));
        Assert.Equal(["message", "new_message", "dialog_update"], events.Select(e => e.Type));
        Assert.All(events.Skip(1), e => Assert.Equal(dialog.Id, e.Key));
        var messages = await Store.ListMessagesAsync(dialog.Id, null, 10);
        Assert.Equal("Привет", Assert.Single(messages).Text);
        Assert.Equal(1, (await Store.GetDialogAsync(dialog.Id))!.UnreadCount);
        var stored = await Store.ReadEventsAsync([DialogTopics.OperatorFeed], 0, 10);
        Assert.Equal(dialog.Id, stored[^1].EventKey);
    }

    [Fact]
    public async Task Trim_KeepsNewestPerTopic_AndRecordsTheHorizon()
    {
        var a = await PublishAsync(Store, "trim-a", 6);
        await PublishAsync(Store, "trim-b", 2);
        var removed = await Store.TrimEventsAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), 2);
        Assert.Equal(4, removed);
        Assert.Equal(a.Skip(4).Select(e => e.Id), (await Store.ReadEventsAsync(["trim-a"], 0, 10)).Select(e => e.Id));
        Assert.Equal(2, (await Store.ReadEventsAsync(["trim-b"], 0, 10)).Count);
        Assert.Equal(a[3].Id, await Store.GetTrimmedThroughAsync(["trim-a", "trim-b"]));
        Assert.Equal(0, await Store.TrimEventsAsync(DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), 0));
    }

    /// <summary>
    /// Two "nodes" commit concurrently while a reader follows the log: the reader must never see an id before a
    /// smaller one has committed — every page it reads starts exactly at last+1 and is contiguous — and in the end
    /// it has seen every event once.
    /// </summary>
    [Fact]
    public async Task ConcurrentWriters_OnTwoNodes_ReaderNeverSeesAGap()
    {
        await using var other = await OpenAsync();
        var start = await Store.GetLastEventIdAsync();
        const int Batches = 150;
        var writers = new[] { Store, other }.Select((store, n) => Task.Run(async () =>
        {
            for (var i = 0; i < Batches; i++)
            {
                await PublishAsync(store, $"node-{n}", 1 + (i % 3));
            }
        })).ToArray();
        var expected = 2 * Enumerable.Range(0, Batches).Sum(i => 1 + (i % 3));

        var seen = new List<long>();
        var last = start;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (seen.Count < expected && DateTime.UtcNow < deadline)
        {
            var page = await Store.ReadEventRangeAsync(last, long.MaxValue, 500);
            foreach (var e in page)
            {
                Assert.True(e.Id == last + 1, $"reader saw id {e.Id} while {last + 1} was not visible yet");
                last = e.Id;
                seen.Add(e.Id);
            }

            if (page.Count == 0)
            {
                await Task.Yield();
            }
        }

        await Task.WhenAll(writers);
        Assert.Equal(expected, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-store-").FullName;

    protected override Task<SqlStore> OpenAsync() => Task.FromResult<SqlStore>(new SqliteStore(Path.Combine(_directory, "herald.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>One PostgreSQL cluster for the class; each test gets its own database.</summary>
public sealed class PostgresStoreContractTests(PostgresStoreContractTests.Cluster cluster)
    : StoreContractTests, IClassFixture<PostgresStoreContractTests.Cluster>
{
    private string _database = "";

    public sealed class Cluster : IAsyncLifetime
    {
        public PostgresFixture Postgres { get; private set; } = null!;

        public async Task InitializeAsync() => Postgres = await PostgresFixture.StartAsync();

        public async Task DisposeAsync() => await Postgres.DisposeAsync();
    }

    public override async Task InitializeAsync()
    {
        _database = "t" + Guid.NewGuid().ToString("N")[..12];
        await cluster.Postgres.CreateDatabaseAsync(_database);
        await base.InitializeAsync();
    }

    protected override Task<SqlStore> OpenAsync() => Task.FromResult<SqlStore>(new PostgresStore(cluster.Postgres.ConnectionString(_database)));
}
