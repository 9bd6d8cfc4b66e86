using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Topics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Server.Tests.Storage;

public sealed class SqliteStoreContractTests(Xunit.Abstractions.ITestOutputHelper output) : StoreContractTests
{
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-store-").FullName;

    protected override Task<SqlStore> OpenAsync() => Task.FromResult<SqlStore>(new SqliteStore(Path.Combine(_directory, "herald.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// What the SQLite write path allocates per chat message (issue 22): the message, its dialog update and its three
    /// events, committed one message per batch as at a moderate rate. Microsoft.Data.Sqlite runs synchronously, so the
    /// whole commit runs on the test's thread and its allocations are counted exactly, however busy the machine is.
    /// </summary>
    [Fact]
    public async Task ACommittedChatMessage_AllocatesUnder4KB_OnTheWriterThread()
    {
        var results = new List<object?>();
        await Store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        await Store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "g1")], results, CancellationToken.None);
        var dialog = (((DialogRecord Dialog, bool Created))results[0]!).Dialog;
        var text = "bench:chatwrite:0:" + new string('x', 40);

        async Task<long> PostAsync(int count)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < count; i++)
            {
                var events = await Store.CommitBatchAsync([new PostMessageCommand(dialog.Id, "user", text)], results, CancellationToken.None);
                Assert.Equal(3, events.Count);
            }

            return (GC.GetAllocatedBytesForCurrentThread() - before) / count;
        }

        await PostAsync(100); // statements prepared, code jitted
        var perMessage = await PostAsync(300);

        // Measured 2026-12-04: 26.2 KB with a pooled connection per batch and a fresh Dapper command per statement
        // (every statement prepared again, the events' JSON copied to UTF-16 for binding); 11.0 KB with the writer's
        // connection kept open and its statements prepared once. 2026-12-05: the statements bound and stepped through
        // SQLitePCL (no binder, reader, box per execution) and the events' JSON written by hand into exact arrays;
        // 4.3 KB. 2026-12-06: the batch's BEGIN IMMEDIATE and COMMIT as kept statements (Microsoft.Data.Sqlite made and
        // prepared a command for each, every batch), the trace context boxed and absent while tracing is off; 3.5 KB.
        // What is left is the three events (their arrays, PendingEvent, HubEvent), the records, the batch's lists and
        // tasks.
        output.WriteLine($"{perMessage} B allocated per committed chat message on the writer thread");
        Assert.True(perMessage < 4 * 1024, $"{perMessage} B allocated per committed chat message");
        Assert.Equal(400, (await Store.ListMessagesAsync(dialog.Id, 0, 1000)).Count);
        // The events' JSON is bound as UTF-8 bytes and must still be stored as TEXT, readable as it was written.
        var stored = await Store.ReadEventsAsync([DialogTopics.For(dialog.Id)], 0, 1);
        Assert.StartsWith("{\"type\":\"message:new\"", stored[0].Data, StringComparison.Ordinal);
        await using var connection = new SqliteConnection(((SqliteStore)Store).ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT typeof(data) FROM events";
        Assert.Equal("text", await command.ExecuteScalarAsync());
    }

    /// <summary>
    /// The writer's transaction begins with a kept BEGIN IMMEDIATE statement, outside Microsoft.Data.Sqlite's retries:
    /// while another connection holds the write lock (a <c>herald users</c> command in another process, a trim), a batch
    /// waits for it instead of failing with SQLITE_BUSY, then commits.
    /// </summary>
    [Fact]
    public async Task AWriteBatch_WaitsWhileAnotherConnectionHoldsTheWriteLock_ThenCommits()
    {
        await PublishOneAsync("warm"); // the writer's connection is open and kept
        var before = await Store.GetLastEventIdAsync();
        await using var other = new SqliteConnection(((SqliteStore)Store).ConnectionString);
        await other.OpenAsync();
        await using var hold = other.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: holds the write lock

        // SQLite waits synchronously, so the batch runs on a thread of its own.
        var batch = Task.Run(() => PublishOneAsync("busy"));
        var first = await Task.WhenAny(batch, Task.Delay(TimeSpan.FromMilliseconds(500)));
        Assert.True(first != batch, $"the batch ended while another connection held the write lock: {batch.Exception?.GetBaseException().Message ?? "committed"}");

        await hold.CommitAsync();
        await batch;
        Assert.Equal(before + 1, Assert.Single(await Store.ReadEventsAsync(["busy"], before, 10)).Id);

        Task PublishOneAsync(string topic) =>
            Store.CommitBatchAsync([new PublishEventCommand(topic, "message", "{}"u8.ToArray())], [], CancellationToken.None);
    }

    /// <summary>
    /// A checkpoint that runs while the writer commits is finished by the writer, and the WAL starts over. Before, the
    /// WAL grew for as long as writes went on: the checkpoint, beside the writer, copies the frames there when it
    /// began; a commit starts the WAL over only when every frame in it has been copied; under steady writes that never
    /// happened (660 MB of WAL after 25 s of S3, against a 27 MB database). Each round here queues 512 chat messages
    /// on a real writer (four per batch), runs the checkpoint while they commit, then commits two more batches after them; each start
    /// over bumps the checkpoint sequence number in the WAL file's header, which the test reads.
    /// </summary>
    [Fact]
    public async Task ACheckpointDuringSteadyWrites_IsFinishedByTheWriter_AndTheWalStartsOver()
    {
        var path = Path.Combine(_directory, "steady.db");
        // No timer: the test runs each checkpoint itself, at a known moment.
        await using var store = new SqliteStore(path, checkpointEvery: Timeout.InfiniteTimeSpan);
        await store.MigrateAsync();
        var results = new List<object?>();
        await store.CommitBatchAsync([new CreateAssistantCommand("Shop", null)], results, CancellationToken.None);
        var assistant = (AssistantRecord)results[0]!;
        await store.CommitBatchAsync([new GetOrCreateGuestDialogCommand(assistant.Id, "g1")], results, CancellationToken.None);
        var dialog = (((DialogRecord Dialog, bool Created))results[0]!).Dialog;

        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var writer = new EventWriter(store, new RecordingBus(), new HeraldMetrics(services.GetRequiredService<IMeterFactory>()),
            Options.Create(new HeraldOptions { Storage = { MaxWriteBatch = 4 } }), NullLogger<EventWriter>.Instance);
        await writer.StartAsync(CancellationToken.None);
        List<Task<MessageRecord>> Post(int count) => Enumerable.Range(0, count)
            .Select(i => writer.ExecuteAsync(new PostMessageCommand(dialog.Id, "user", "steady " + new string('x', 500)))).ToList();
        Task PostAsync(int count) => Task.WhenAll(Post(count));
        try
        {
            for (var round = 1; round <= 3; round++)
            {
                var before = WalCheckpointSequence(path);
                // Queued at once: the writer commits them back to back, four per batch; the checkpoint runs once the
                // first batch is in, while the others commit.
                var steady = Post(512);
                await steady[0];
                store.Checkpoint();
                await Task.WhenAll(steady);
                await PostAsync(16);
                await PostAsync(16);
                var after = WalCheckpointSequence(path);
                output.WriteLine($"round {round}: WAL sequence {before} → {after}, WAL {new FileInfo(path + "-wal").Length / 1024} KB");
                Assert.True(after > before, $"round {round}: the WAL did not start over after a checkpoint during steady writes (WAL {new FileInfo(path + "-wal").Length / 1024} KB)");
            }
        }
        finally
        {
            await writer.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The WAL file's checkpoint sequence number (header bytes 12–15, big-endian): SQLite adds one each time a commit
    /// starts the WAL over from its beginning.
    /// </summary>
    private static uint WalCheckpointSequence(string databasePath)
    {
        using var wal = new FileStream(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        wal.ReadExactly(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
    }
}
