using System.Text;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Topics;
using Herald.Testing;
using Microsoft.Data.Sqlite;

namespace Herald.Server.Tests.Storage;

/// <summary>
/// Several SQLite stores in one process (the test suite's nodes; any host with more than one store) share
/// Microsoft.Data.Sqlite's connection pools. One store going away must not touch another's connections: clearing
/// every pool closed connections other stores were using, and a chat POST on a busy node failed with 500.
/// </summary>
public sealed class SqlitePoolTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("herald-pool-").FullName;
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(Path.Combine(_directory, "herald.db"));
        await _store.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task DisposingAnotherStore_LeavesThisStoresPooledConnectionsOpen()
    {
        // A TEMP table lives as long as the native connection that made it: finding it again means the pool gave
        // back the same, still open connection.
        await using (var connection = new SqliteConnection(_store.ConnectionString))
        {
            await connection.OpenAsync();
            await using var mark = connection.CreateCommand();
            mark.CommandText = "CREATE TEMP TABLE pooled_mark (x INTEGER)";
            await mark.ExecuteNonQueryAsync();
        }

        await using (var other = new SqliteStore(Path.Combine(_directory, "other.db")))
        {
            await other.MigrateAsync();
        }

        await using (var again = new SqliteConnection(_store.ConnectionString))
        {
            await again.OpenAsync();
            await using var find = again.CreateCommand();
            find.CommandText = "SELECT count(*) FROM temp.sqlite_master WHERE name = 'pooled_mark'";
            Assert.Equal(1L, (long)(await find.ExecuteScalarAsync())!);
        }
    }

    [Fact]
    public async Task ReadsAndWrites_GoOn_WhileOtherStoresComeAndGo()
    {
        // What the suite does on two busy cores: this store serves reads and write batches from several threads
        // while other stores in the process start and stop. Bounded: 15 s, or the first failure.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var operations = 0L;

        async Task RunAsync(Func<Task> operation)
        {
            while (!stop.IsCancellationRequested)
            {
                // SQLite's async methods complete synchronously: without a yield per operation, 21 loops would
                // hold every pool thread on two cores, and the timers that end the test (and the store's checkpoint)
                // would wait for the thread pool to grow. A server's requests arrive asynchronously; so do these.
                await Task.Yield();
                try
                {
                    await operation();
                    Interlocked.Increment(ref operations);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                    await stop.CancelAsync();
                }
            }
        }

        var workers = new List<Task>();
        for (var i = 0; i < 16; i++)
        {
            workers.Add(Task.Run(() => RunAsync(async () => await _store.GetLastEventIdAsync())));
        }

        workers.Add(Task.Run(() => RunAsync(async () =>
            await _store.CommitBatchAsync([new PublishEventCommand("pool", "message", Encoding.UTF8.GetBytes("{}"))], [], CancellationToken.None))));
        var cycles = 0;
        for (var i = 0; i < 4; i++)
        {
            var path = Path.Combine(_directory, $"other-{i}.db");
            workers.Add(Task.Run(() => RunAsync(async () =>
            {
                await using var other = new SqliteStore(path);
                Interlocked.Increment(ref cycles);
            })));
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(failures.IsEmpty, $"after {operations} operations and {cycles} other stores: {string.Join("\n", failures)}");
        Assert.True(cycles > 0);
    }
}
