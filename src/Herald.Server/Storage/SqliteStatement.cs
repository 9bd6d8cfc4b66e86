using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Herald.Server.Storage;

/// <summary>
/// One statement prepared on the SQLite writer's connection, bound and stepped through SQLitePCL directly: the
/// writer's hot statements (a chat message's INSERT and dialog UPDATE, the sequence UPDATE, the event INSERT).
/// </summary>
/// <remarks>
/// <para>Microsoft.Data.Sqlite allocates on every execution even of a prepared command — a binder per parameter, a
/// data reader and record, an enumerator over the statements, a boxed value per parameter —, about 3.5 KB per chat
/// message and a visible share of its CPU (issue 22). Here a message's statements allocate nothing but the strings
/// read back. The connection and its transaction stay Microsoft.Data.Sqlite's: this runs on the same native
/// connection, inside the transaction the writer began on it (SQLite's transactions belong to the connection).</para>
/// <para>Parameters are set by position, in the order of the names the statement was prepared with; a name used twice
/// in the SQL is one parameter. Every <see cref="Step"/> sequence ends with <see cref="Reset"/> (the helpers do it), so
/// that no statement stays active across the commit.</para>
/// </remarks>
public sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int[] _indexes;

    internal SqliteStatement(SqliteConnection connection, string sql, ReadOnlySpan<string> names)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
        _indexes = new int[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            _indexes[i] = raw.sqlite3_bind_parameter_index(_statement, names[i]);
            if (_indexes[i] == 0)
            {
                throw new ArgumentException($"The statement has no parameter {names[i]}: {sql}", nameof(names));
            }
        }
    }

    public void Bind(int position, long value) => Check(raw.sqlite3_bind_int64(_statement, _indexes[position], value));

    /// <summary>Binds <paramref name="value"/> as INTEGER, or NULL.</summary>
    public void Bind(int position, long? value) => Check(value is { } number
        ? raw.sqlite3_bind_int64(_statement, _indexes[position], number)
        : raw.sqlite3_bind_null(_statement, _indexes[position]));

    /// <summary>Binds <paramref name="value"/> as TEXT (UTF-16 in, stored in the database's UTF-8), or NULL.</summary>
    public void Bind(int position, string? value) => Check(value is null
        ? raw.sqlite3_bind_null(_statement, _indexes[position])
        : raw.sqlite3_bind_text16(_statement, _indexes[position], value.AsSpan()));

    /// <summary>Binds UTF-8 bytes as TEXT, without a UTF-16 copy.</summary>
    public void BindUtf8(int position, ReadOnlySpan<byte> utf8) => Check(raw.sqlite3_bind_text(_statement, _indexes[position], utf8));

    /// <summary>Runs the statement to its next row: true with a row to read, false when done.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }

        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }

        // The error's code and message are the connection's until the next call: read them before the reset.
        var error = new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));
        raw.sqlite3_reset(_statement);
        throw error;
    }

    /// <summary>Ready for the next execution (bindings stay until set again).</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    /// <summary>Runs a statement that returns no rows.</summary>
    public void Execute()
    {
        try
        {
            Step();
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>Runs the statement and returns the first column of its first row as an integer, or null without a row.</summary>
    public long? ExecuteInt64()
    {
        try
        {
            return Step() ? raw.sqlite3_column_int64(_statement, 0) : null;
        }
        finally
        {
            Reset();
        }
    }

    public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

    public long GetInt64(int column) => raw.sqlite3_column_int64(_statement, column);

    public string? GetString(int column) => IsNull(column) ? null : raw.sqlite3_column_text(_statement, column).utf8_to_string();

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
