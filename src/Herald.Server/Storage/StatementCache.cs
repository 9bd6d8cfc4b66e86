using System.Data.Common;

namespace Herald.Server.Storage;

/// <summary>
/// Commands of one connection kept for the connection's life, so that each statement is prepared once and then only
/// re-bound and stepped. Microsoft.Data.Sqlite keeps a command's prepared statements until its text or connection
/// changes; Dapper makes a new command (a new prepare, a new parameter collection) for every call.
/// </summary>
/// <remarks>Not thread-safe: a connection is used by one caller at a time, and so is its cache.</remarks>
public sealed class StatementCache(DbConnection connection)
{
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

    /// <summary>
    /// The command for <paramref name="sql"/>, with one parameter per name in <paramref name="names"/> (set their values
    /// by position), enlisted in <paramref name="transaction"/>. The cache owns it: do not dispose it.
    /// </summary>
    public DbCommand Get(string sql, DbTransaction transaction, params ReadOnlySpan<string> names)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in names)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                command.Parameters.Add(parameter);
            }

            _commands[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }

    /// <summary>Disposes every command (their prepared statements with them).</summary>
    public void Clear()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
