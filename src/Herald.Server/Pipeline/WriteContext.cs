using System.Data.Common;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>What a <see cref="WriteCommand"/> sees: the open connection and transaction, the batch clock, and a way to emit events.</summary>
public sealed class WriteContext
{
    private readonly List<PendingEvent> _events;
    private readonly StatementCache? _statements;

    internal WriteContext(DbConnection connection, DbTransaction? transaction, SqlDialect dialect, long nowMs, List<PendingEvent> events, StatementCache? statements)
    {
        _statements = statements;
        Dialect = dialect;
        Connection = connection;
        Transaction = transaction;
        NowMs = nowMs;
        _events = events;
    }

    public DbConnection Connection { get; }

    /// <summary>The engine's SQL differences, for a command that can do better on one of them.</summary>
    public SqlDialect Dialect { get; }

    /// <summary>
    /// The batch's transaction, for the command's statements to run in; null where the store's transaction is the
    /// connection's own and statements run inside it unnamed (<see cref="SqlStore.CommandTransaction"/>).
    /// </summary>
    public DbTransaction? Transaction { get; }

    /// <summary>One timestamp for the whole batch, Unix milliseconds.</summary>
    public long NowMs { get; }

    /// <summary>The trace context of the command running now; the events it emits carry it to the writer's spans.</summary>
    internal System.Runtime.CompilerServices.StrongBox<System.Diagnostics.ActivityContext>? TraceParent { get; set; }

    /// <summary>
    /// SQLite's writer connection only: the statement for <paramref name="sql"/>, prepared once on the connection
    /// (which stays open across batches) and re-bound on every use, inside this transaction: bind its parameters by
    /// position, in the order of <paramref name="names"/>. The context owns it: do not dispose it. PostgreSQL's
    /// commands go through <see cref="IBatchedWrite"/> (its driver prepares by itself).
    /// </summary>
    public SqliteStatement Statement(string sql, params ReadOnlySpan<string> names) =>
        (_statements ?? throw new InvalidOperationException("Prepared statements are kept only on SQLite's writer connection.")).Get(sql, names);

    /// <summary>Adds an event that is stored with this batch and delivered after it commits.</summary>
    /// <returns>The pending event; its <see cref="PendingEvent.Id"/> is set once the batch has committed.</returns>
    /// <param name="topic">The topic.</param>
    /// <param name="type">The SSE event name.</param>
    /// <param name="data">UTF-8 JSON payload.</param>
    /// <param name="key">Optional filter key within the topic (see <see cref="Events.HubEvent.Key"/>).</param>
    public PendingEvent Emit(string topic, string type, byte[] data, long key = 0)
    {
        var pending = new PendingEvent(topic, type, data, key) { TraceParent = TraceParent };
        _events.Add(pending);
        return pending;
    }
}
