using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Herald.Server.Storage;

/// <summary>
/// The write batch's transaction on SQLite's writer connection: <c>BEGIN IMMEDIATE</c>, <c>COMMIT</c> and
/// <c>ROLLBACK</c> run as statements kept prepared on the connection (<see cref="StatementCache"/>).
/// </summary>
/// <remarks>
/// <para>Microsoft.Data.Sqlite's own transaction made a new command for its <c>BEGIN</c> and another for its
/// <c>COMMIT</c> on every batch — each prepared again, with its statement enumerator and data reader — about 0.5 KB and
/// two SQL compilations per batch on the chat path (issue 22). This one allocates only itself.</para>
/// <para>SQLite's transaction belongs to the connection, so the batch's commands run inside it without naming it; and
/// Microsoft.Data.Sqlite refuses a command that carries a transaction it did not begin. Commands therefore get no
/// transaction to pass on (<c>WriteContext.Transaction</c> is null here), as the writer's prepared statements never
/// did.</para>
/// <para>Disposing it rolls back unless it committed — or unless SQLite already did (a full disk or an I/O error ends
/// the transaction by itself), which the connection's autocommit state tells.</para>
/// </remarks>
public sealed class SqliteWriteTransaction : DbTransaction
{
    private readonly SqliteConnection _connection;
    private readonly StatementCache _statements;
    private bool _open;

    private SqliteWriteTransaction(SqliteConnection connection, StatementCache statements)
    {
        _connection = connection;
        _statements = statements;
    }

    /// <summary>
    /// Begins a transaction that takes the write lock at once (IMMEDIATE: rather than fail to upgrade a read lock later).
    /// Another connection holding the lock (a <c>herald users</c> command, a trim) is waited for by the connection's busy
    /// timeout.
    /// </summary>
    internal static SqliteWriteTransaction Begin(SqliteConnection connection, StatementCache statements)
    {
        statements.Get("BEGIN IMMEDIATE").Execute();
        return new SqliteWriteTransaction(connection, statements) { _open = true };
    }

    public override IsolationLevel IsolationLevel => IsolationLevel.Serializable;

    protected override DbConnection DbConnection => _connection;

    public override void Commit()
    {
        if (!_open)
        {
            throw new InvalidOperationException("The transaction has already ended.");
        }

        _statements.Get("COMMIT").Execute();
        _open = false;
    }

    public override void Rollback()
    {
        if (!_open)
        {
            throw new InvalidOperationException("The transaction has already ended.");
        }

        _open = false;
        if (_connection.Handle is { } db && raw.sqlite3_get_autocommit(db) == 0)
        {
            _statements.Get("ROLLBACK").Execute();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _open)
        {
            Rollback();
        }

        base.Dispose(disposing);
    }
}
