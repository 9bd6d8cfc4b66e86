using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Herald.Server.Storage;

/// <summary>
/// SQLite in WAL mode: one file under the data directory, concurrent readers, one writer (this node's
/// <c>EventWriter</c>). Suitable for one node; several nodes need <see cref="PostgresStore"/>.
/// </summary>
public sealed class SqliteStore : SqlStore
{
    private readonly string _connectionString;

    public SqliteStore(string databasePath) : this(databasePath, TimeSpan.FromSeconds(1))
    {
    }

    /// <param name="databasePath">The SQLite file (created with its directory if missing).</param>
    /// <param name="checkpointEvery">How often the WAL is copied back into the database file (tests shorten it).</param>
    internal SqliteStore(string databasePath, TimeSpan checkpointEvery) : base(SqliteDialect.Instance)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        DatabasePath = databasePath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            ForeignKeys = true,
            // Busy waits (another process, a checkpoint) retry for up to this many seconds.
            DefaultTimeout = BusyTimeoutSeconds,
        }.ToString();

        using var connection = new PooledConnection(this);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is a property of the file: set once, readers never block the writer and vice versa.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
        _checkpoints = new Timer(static s => ((SqliteStore)s!).Checkpoint(), this, checkpointEvery, checkpointEvery);
    }

    private const int BusyTimeoutSeconds = 30;

    private readonly Timer _checkpoints;
    private int _checkpointing;

    // Set by every timer checkpoint that copied frames (it cannot tell whether the writer appended more meanwhile);
    // the writer finishes it between two batches (BetweenWriteBatchesAsync).
    private int _catchUpRequested;

    // A WAL that grew past this (a reader held an old snapshot for long, the writer could not catch up) is cut back to
    // it when it next starts over, rather than keeping its largest size on disk for good.
    private const long WalSizeLimitBytes = 64L * 1024 * 1024;

    // Microsoft.Data.Sqlite's pool (10.0.11) can lend one native connection to two users: when it needs a new
    // connection it takes back any that look abandoned ("active" with no owner), and a connection being returned
    // looks exactly like that for an instant. Taken back then, it goes into the pool twice. Taking and returning
    // this store's connections under one lock closes that window; both are short (a pop or a push, a PRAGMA).
    private readonly Lock _pool = new();

    public string DatabasePath { get; }

    public override string Location => Path.GetFullPath(DatabasePath);

    /// <summary>The connection string, which is also the key of the store's connection pool in Microsoft.Data.Sqlite.</summary>
    internal string ConnectionString => _connectionString;

    protected override async ValueTask<DbConnection> OpenReadConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new PooledConnection(this);
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        return connection;
    }

    // The writer's own connection, open between batches with its prepared statements (null while a batch uses it).
    // Taking a pooled connection per batch cost a pool round trip and this PRAGMA per batch, and Dapper a prepare per
    // statement.
    private DbConnection? _idleWriter;
    private volatile bool _disposed;

    protected override async ValueTask<DbConnection> RentWriteConnectionAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _idleWriter, null) is { } idle)
        {
            return idle;
        }

        // The first batch, or a second writer at once (startup tasks, tests): a connection of its own.
        var connection = new WriterConnection(this);
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        // Its BEGIN IMMEDIATE is a kept statement (SqliteWriteTransaction), outside Microsoft.Data.Sqlite's retries on a
        // busy database: SQLite's own busy handler waits instead, as long as the store's other connections do.
        raw.sqlite3_busy_timeout(connection.Handle, BusyTimeoutSeconds * 1000);
        return connection;
    }

    protected override ValueTask ReleaseWriteConnectionAsync(DbConnection connection)
    {
        if (!_disposed && connection.State == ConnectionState.Open && Interlocked.CompareExchange(ref _idleWriter, connection, null) is null)
        {
            return ValueTask.CompletedTask;
        }

        ((WriterConnection)connection).Statements.Clear();
        return connection.DisposeAsync();
    }

    public override StatementCache? StatementsOf(DbConnection connection) => (connection as WriterConnection)?.Statements;

    private static void Configure(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        // NORMAL in WAL mode: a commit is durable against process crashes; the OS may lose the last
        // transactions on power loss, never corrupting the file. Per connection, hence on every open.
        // wal_autocheckpoint=0: by default the commit that crosses 1,000 WAL pages runs the checkpoint itself —
        // copying pages and fsyncing the database file inside a chat POST, every second or two under load, which
        // was the tail of the chat latency. Checkpoint() does it on a timer instead, beside the writer.
        // journal_size_limit: see WalSizeLimitBytes.
        command.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={WalSizeLimitBytes};";
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// A PASSIVE checkpoint, on a timer beside the writer: copies the WAL's pages into the database file without
    /// waiting for readers or blocking the writer, which keeps committing meanwhile (WAL allows both at once).
    /// </summary>
    /// <remarks>
    /// The WAL starts over from its beginning only at a commit that finds every frame in it already copied. Under a
    /// steady stream of writes this checkpoint never gets there on its own: it copies the frames that were there when it
    /// began, and by the time it is done the writer has appended more. The WAL then grew for as long as the writes went
    /// on (S3 at 1,000 chat messages/s: 660 MB in 25 s, against a 27 MB database), every append went to new blocks that
    /// the file system zeroes and allocates first (a fifth of the server's CPU in the profile), and the disk filled.
    /// So after each checkpoint the writer copies the rest (<see cref="BetweenWriteBatchesAsync"/>): only what was
    /// committed while the checkpoint ran, and on the writer's own connection, where no commit can slip in between.
    /// </remarks>
    internal void Checkpoint()
    {
        if (Interlocked.Exchange(ref _checkpointing, 1) != 0)
        {
            return; // the previous one is still running
        }

        try
        {
            using var connection = new PooledConnection(this);
            connection.Open();
            // What it reports counts the WAL as it was when it began, so it does not tell what the writer appended
            // while it ran: any frame copied asks the writer to finish (a no-op on an idle WAL).
            if (CheckpointPassive(connection) > 0)
            {
                Volatile.Write(ref _catchUpRequested, 1);
            }
        }
        catch (Exception)
        {
            // Busy, or the store is going away: the next tick (or the next start) tries again and nothing is lost
            // by waiting. A timer callback must not throw: that would end the process.
        }
        finally
        {
            Volatile.Write(ref _checkpointing, 0);
        }
    }

    /// <summary>
    /// Finishes a checkpoint the timer could not (see <see cref="Checkpoint"/>) on the writer's idle connection, after
    /// a batch has been committed and published: the frames committed since the timer's checkpoint, so that the next
    /// commit starts the WAL over.
    /// </summary>
    public override async ValueTask BetweenWriteBatchesAsync()
    {
        if (Volatile.Read(ref _catchUpRequested) == 0 || Interlocked.Exchange(ref _catchUpRequested, 0) == 0)
        {
            return; // the batch's usual case: completes synchronously, allocates nothing
        }

        try
        {
            // The idle writer connection (this runs on the writer's loop, so no batch holds it), given back after.
            var writer = await RentWriteConnectionAsync(CancellationToken.None);
            try
            {
                CheckpointPassive((SqliteConnection)writer);
            }
            finally
            {
                await ReleaseWriteConnectionAsync(writer);
            }
        }
        catch (Exception)
        {
            // The file in the way (full disk, I/O error): the timer asks again; the next batch meets the same
            // problem on its own and answers its requests with it.
        }
    }

    /// <summary>
    /// Runs <c>PRAGMA wal_checkpoint(PASSIVE)</c> on <paramref name="connection"/>: how many of the WAL's frames the
    /// database file now has, as of the checkpoint's start (-1 when it could not run).
    /// </summary>
    /// <remarks>The PRAGMA, not sqlite3_wal_checkpoint_v2: on a connection that has read nothing yet the C function
    /// finds no WAL open and does nothing (-1), while the PRAGMA reads the schema first.</remarks>
    private static long CheckpointPassive(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        using var reader = command.ExecuteReader();
        return reader.Read() ? reader.GetInt64(2) : -1; // columns: busy, frames in the WAL, frames copied
    }

    public override async Task<long> StoreEventsAndCommitAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<INewEvent> pending, long now, CancellationToken ct)
    {
        var statements = StatementsOf(connection) ?? throw new InvalidOperationException("Events are stored on the writer's connection.");
        var sequence = statements.Get(NextIdsSql, "@n");
        sequence.Bind(0, pending.Count);
        var last = sequence.ExecuteInt64() ?? throw new InvalidOperationException("The events sequence row is missing.");
        var firstId = last - pending.Count + 1;
        var insert = statements.Get(InsertEventSql, "@id", "@topic", "@type", "@data", "@createdAt", "@key");
        for (var i = 0; i < pending.Count; i++)
        {
            insert.Bind(0, firstId + i);
            insert.Bind(1, pending[i].Topic);
            insert.Bind(2, pending[i].Type);
            insert.BindUtf8(3, pending[i].Data);
            insert.Bind(4, now);
            insert.Bind(5, pending[i].Key);
            insert.Execute();
        }

        await tx.CommitAsync(ct);
        return firstId;
    }

    private const string NextIdsSql = "UPDATE herald_sequences SET value = value + @n WHERE name = 'events' RETURNING value";

    // The payload is bound as its UTF-8 bytes, as TEXT: no UTF-16 copy of every event's JSON on the write path.
    private const string InsertEventSql =
        "INSERT INTO events (id, topic, type, data, created_at, event_key) VALUES (@id, @topic, @type, @data, @createdAt, @key)";

    // Statements on the writer's connection run inside its kept transaction unnamed: Microsoft.Data.Sqlite refuses a
    // command that names a transaction it did not begin.
    public override DbTransaction? CommandTransaction(DbTransaction transaction) => transaction is SqliteWriteTransaction ? null : transaction;

    protected override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // IMMEDIATE either way: take the write lock now rather than fail to upgrade a read lock later. The writer's
        // connection with its kept statements; any other (migrations, trims) through Microsoft.Data.Sqlite
        // (deferred: false).
        ValueTask.FromResult<DbTransaction>(connection is WriterConnection writer
            ? SqliteWriteTransaction.Begin(writer, writer.Statements)
            : ((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false));

    public override async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (Interlocked.Exchange(ref _idleWriter, null) is WriterConnection writer)
        {
            writer.Statements.Clear();
            await writer.DisposeAsync();
        }

        await _checkpoints.DisposeAsync();
        Checkpoint();
        // This store's pool only. ClearAllPools would also close the connections of every other store in the
        // process, including ones in use: an in-process node failed requests with ObjectDisposedException.
        using var connection = new SqliteConnection(_connectionString);
        lock (_pool)
        {
            SqliteConnection.ClearPool(connection);
        }
    }

    /// <summary>A connection of this store: opened and closed (taken from and given back to the pool) under the store's pool lock.</summary>
    private class PooledConnection(SqliteStore store) : SqliteConnection(store._connectionString)
    {
        public override void Open()
        {
            lock (store._pool)
            {
                base.Open();
            }
        }

        public override void Close()
        {
            lock (store._pool)
            {
                base.Close();
            }
        }
    }

    /// <summary>The writer's connection: kept open across batches, with the statements prepared on it.</summary>
    private sealed class WriterConnection : PooledConnection
    {
        public WriterConnection(SqliteStore store) : base(store) => Statements = new StatementCache(this);

        public StatementCache Statements { get; }
    }
}
