using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Herald.Server.Storage;

/// <summary>
/// SQLite in WAL mode: one file under the data directory, concurrent readers, one writer (this node's
/// <c>EventWriter</c>). Suitable for one node; several nodes need <see cref="PostgresStore"/>.
/// </summary>
public sealed class SqliteStore : SqlStore
{
    private readonly string _connectionString;

    public SqliteStore(string databasePath) : base(SqliteDialect.Instance)
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
            DefaultTimeout = 30,
        }.ToString();

        using var connection = new PooledConnection(this);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL is a property of the file: set once, readers never block the writer and vice versa.
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
        _checkpoints = new Timer(static s => ((SqliteStore)s!).Checkpoint(), this, CheckpointEvery, CheckpointEvery);
    }

    // How often the WAL is copied back into the database file, off the write path.
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private readonly Timer _checkpoints;
    private int _checkpointing;

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
        command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;";
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// A PASSIVE checkpoint: copies what it can without waiting for readers or blocking the writer, which keeps
    /// committing meanwhile (WAL allows both at once). Once a checkpoint has caught up, the next commit starts the
    /// WAL over from its beginning, so the file stays small.
    /// </summary>
    private void Checkpoint()
    {
        if (Interlocked.Exchange(ref _checkpointing, 1) != 0)
        {
            return; // the previous one is still running
        }

        try
        {
            using var connection = new PooledConnection(this);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
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

    protected override ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // deferred: false = BEGIN IMMEDIATE: take the write lock now rather than fail to upgrade it later.
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(IsolationLevel.Serializable, deferred: false));

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
