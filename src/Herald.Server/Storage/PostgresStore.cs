using System.Data.Common;
using System.Text;
using Npgsql;

namespace Herald.Server.Storage;

/// <summary>
/// PostgreSQL through Npgsql: the store several nodes share. Event ids stay gapless and in commit order
/// across nodes because every batch updates the one <c>herald_sequences</c> row last, holding its row lock
/// until commit (see <see cref="SqlStore.StoreEventsAndCommitAsync"/>).
/// </summary>
/// <remarks>
/// Writes have a pool of their own, of <see cref="WritePoolSize"/> connections. Npgsql hands idle connections
/// out first in, first out. With one pool for everything, a burst of reads (10,000 streams connecting) grew it toward
/// <c>Max Pool Size</c>, and the node's writer then rotated through all of those connections: each PostgreSQL
/// backend prepared the writer's statements anew and ran them with cold caches, and each connection kept its last
/// batch's parameters and results alive until its next turn. Measured in the two-node benchmark (S4, 50 connections):
/// PostgreSQL's CPU about halved with the separate pool, and the posting node promoted ~0.45 MB less per gen0
/// collection. With its own pool the writer reuses one or two connections, and a burst of reads that takes every
/// read connection no longer holds up chat POSTs.
/// </remarks>
public sealed class PostgresStore : SqlStore
{
    /// <summary>The writer needs one connection; retention trims and migrations take a second now and then.</summary>
    private const int WritePoolSize = 3;

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _writeDataSource;

    public PostgresStore(string connectionString) : base(PostgresDialect.Instance)
    {
        var builder = WithDefaults(connectionString);
        Location = $"{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, WritePoolSize);
        builder.MinPoolSize = Math.Min(builder.MinPoolSize, builder.MaxPoolSize);
        _writeDataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public override string Location { get; }

    /// <summary>
    /// Defaults unless the connection string sets them. Automatic statement preparation (<c>Max Auto Prepare=0</c>
    /// turns it off): the node's single writer runs the same few statements thousands of times a second, and a
    /// prepared statement skips PostgreSQL's parse and plan; in the two-node chat benchmark (S4) it took the POST p50
    /// from 60 to 27 ms. <c>No Reset On Close=true</c>: Herald changes no session state (its only lock is
    /// transaction-scoped), so the reset statements Npgsql would otherwise send with the first command after every
    /// return to the pool — once per write batch and per read — are server work for nothing.
    /// </summary>
    private static NpgsqlConnectionStringBuilder WithDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("NoResetOnClose", StringComparison.OrdinalIgnoreCase))
        {
            builder.NoResetOnClose = true;
        }

        return builder;
    }

    protected override async ValueTask<DbConnection> OpenReadConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override async ValueTask<DbConnection> OpenWriteConnectionAsync(CancellationToken cancellationToken) =>
        await _writeDataSource.OpenConnectionAsync(cancellationToken);

    /// <summary>
    /// The sequence update, the whole batch's events and the COMMIT in one round trip: one statement whose UPDATE of
    /// the <c>herald_sequences</c> row hands out the ids (and takes the row lock, held to the commit right behind it)
    /// and whose INSERT turns four array parameters into rows with <c>unnest</c>, numbered from the updated value;
    /// then <c>COMMIT</c> in the same <see cref="NpgsqlBatch"/>. The batch succeeds only once PostgreSQL has
    /// answered the COMMIT (after its fsync, unless <c>synchronous_commit</c> is off); a failure of either
    /// statement leaves the transaction to be rolled back when it is disposed.
    /// </summary>
    /// <remarks>
    /// One INSERT per event was a round trip per event for the node's single writer (three per chat message capped
    /// the two-node chat at ~700 messages/s); unlike a VALUES list per row count, the text never changes, so the
    /// automatic preparation keeps one prepared statement. Npgsql sees the COMMIT's answer (the connection is out of
    /// its transaction block) and treats the <see cref="NpgsqlTransaction"/> as completed: disposing it sends nothing.
    /// </remarks>
    public override async Task<long> StoreEventsAndCommitAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<INewEvent> pending, long now, CancellationToken ct)
    {
        var topics = new string[pending.Count];
        var types = new string[pending.Count];
        var data = new string[pending.Count];
        var keys = new long[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            topics[i] = pending[i].Topic;
            types[i] = pending[i].Type;
            data[i] = Encoding.UTF8.GetString(pending[i].Data);
            keys[i] = pending[i].Key;
        }

        await using var batch = new NpgsqlBatch((NpgsqlConnection)connection, (NpgsqlTransaction)tx)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(
                    """
                    WITH s AS (UPDATE herald_sequences SET value = value + $1 WHERE name = 'events' RETURNING value - $1 AS before),
                    i AS (INSERT INTO events (id, topic, type, data, created_at, event_key)
                        SELECT s.before + u.n, u.topic, u.type, u.data, $2, u.event_key
                        FROM s, unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS u(topic, type, data, event_key, n))
                    SELECT before + 1 FROM s
                    """)
                {
                    Parameters =
                    {
                        new() { Value = (long)pending.Count },
                        new() { Value = now },
                        new() { Value = topics },
                        new() { Value = types },
                        new() { Value = data },
                        new() { Value = keys },
                    },
                },
                new NpgsqlBatchCommand("COMMIT"),
            },
        };
        long? firstId = null;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            if (await reader.ReadAsync(ct))
            {
                firstId = reader.GetInt64(0);
            }

            // The COMMIT's (empty) result: an error in it surfaces here, before anyone is told the batch committed.
            while (await reader.NextResultAsync(ct))
            {
            }
        }

        return firstId ?? throw new InvalidOperationException("The herald_sequences row 'events' is missing.");
    }

    public override async ValueTask DisposeAsync()
    {
        await _writeDataSource.DisposeAsync();
        await _dataSource.DisposeAsync();
    }
}
