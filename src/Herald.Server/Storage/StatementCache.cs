using Microsoft.Data.Sqlite;

namespace Herald.Server.Storage;

/// <summary>
/// The statements of the SQLite writer's connection, kept for the connection's life, so that each is prepared once
/// and then only re-bound and stepped (<see cref="SqliteStatement"/>). Dapper makes a new command (a new prepare, a
/// new parameter collection) for every call, and even a kept <see cref="SqliteCommand"/> allocates per execution.
/// </summary>
/// <remarks>Not thread-safe: a connection is used by one caller at a time, and so is its cache.</remarks>
public sealed class StatementCache(SqliteConnection connection)
{
    private readonly Dictionary<string, SqliteStatement> _statements = new(StringComparer.Ordinal);

    /// <summary>
    /// The statement for <paramref name="sql"/>, with one parameter per name in <paramref name="names"/> (bind them by
    /// position). The cache owns it: do not dispose it.
    /// </summary>
    public SqliteStatement Get(string sql, params ReadOnlySpan<string> names)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            statement = new SqliteStatement(connection, sql, names);
            _statements[sql] = statement;
        }

        return statement;
    }

    /// <summary>Finalizes every statement (before the connection goes back to the pool or closes).</summary>
    public void Clear()
    {
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
    }
}
