using Herald.Server.Hub;
using Herald.Server.Pipeline;
using Herald.Server.Storage;
using Herald.Server.Topics;
using Herald.Testing;

namespace Herald.Server.Tests.Storage;

/// <summary>One PostgreSQL cluster for the class; each test gets its own database.</summary>
[Trait(TestCategories.Name, TestCategories.Slow)]
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

    [Fact]
    public async Task Writes_GetThrough_WhileReadsHoldEveryPooledConnection()
    {
        // A read pool of one connection, held by a read that waits for a table lock taken elsewhere.
        await using var store = new PostgresStore(cluster.Postgres.ConnectionString(_database) + ";Maximum Pool Size=1;Timeout=2");
        await using var locker = new Npgsql.NpgsqlConnection(cluster.Postgres.ConnectionString(_database));
        await locker.OpenAsync();
        await using var tx = await locker.BeginTransactionAsync();
        await using (var lockDialogs = new Npgsql.NpgsqlCommand("LOCK TABLE dialogs IN ACCESS EXCLUSIVE MODE", locker, tx))
        {
            await lockDialogs.ExecuteNonQueryAsync();
        }

        var blockedRead = store.GetDialogAsync(1);
        await Poll.UntilAsync(async () =>
        {
            await using var waiting = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_locks WHERE NOT granted", locker, tx);
            return (long)(await waiting.ExecuteScalarAsync())! > 0;
        });
        var exhausted = await Assert.ThrowsAnyAsync<Npgsql.NpgsqlException>(() => store.GetLastEventIdAsync());
        Assert.Contains("exhausted", exhausted.Message, StringComparison.OrdinalIgnoreCase);

        // Writes have a pool of their own: an event still commits while no read can get a connection.
        var committed = await store.CommitBatchAsync([new PublishEventCommand("pool", "message", "1"u8.ToArray())], [], CancellationToken.None);
        Assert.Single(committed);

        await tx.RollbackAsync();
        Assert.Null(await blockedRead);
        Assert.Equal(committed[0].Id, await store.GetLastEventIdAsync());
    }
}
