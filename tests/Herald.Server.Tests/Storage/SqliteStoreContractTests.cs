using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Herald.Server.Diagnostics;
using Herald.Server.Dialogs;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
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
    public async Task ACommittedChatMessage_AllocatesUnder6KB_OnTheWriterThread()
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
        // 4.3 KB. What is left is the three events (their arrays, PendingEvent, HubEvent), the records, the batch's lists and
        // tasks, and Microsoft.Data.Sqlite's BEGIN and COMMIT (a command each, per batch).
        output.WriteLine($"{perMessage} B allocated per committed chat message on the writer thread");
        Assert.True(perMessage < 6 * 1024, $"{perMessage} B allocated per committed chat message");
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
