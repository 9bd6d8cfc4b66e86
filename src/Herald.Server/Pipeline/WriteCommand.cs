using System.Data.Common;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>
/// A unit of work that changes stored data and may emit events. The <see cref="EventWriter"/> runs many of
/// them in one transaction: their rows and their events commit together or not at all, and the events get
/// ids in commit order.
/// </summary>
public abstract class WriteCommand
{
    /// <summary>Runs the command's SQL inside the batch transaction and returns its result.</summary>
    public abstract Task<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken);

    internal TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When the command was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks), for <c>herald.store.write.latency</c>.</summary>
    internal long QueuedAt { get; set; }
}

/// <summary>
/// A <see cref="WriteCommand"/> that can also run as one statement of a <see cref="DbBatch"/> shared with the
/// consecutive commands of its type in a write batch: one round trip for all of them on an engine that batches
/// statements (<see cref="SqlDialect.BatchesStatements"/>, PostgreSQL). Elsewhere the command's own
/// <see cref="WriteCommand.ExecuteAsync"/> runs, one command after another.
/// </summary>
/// <remarks>
/// <para>Three steps, each called for every command of the group in command order: <see cref="AddTo"/> adds the
/// command's statement (in the engine's SQL: PostgreSQL, positional <c>$n</c> parameters); <see cref="ReadAsync"/>
/// reads its one result set and keeps what it needs; once the batch's reader is closed, <see cref="CompleteAsync"/>
/// may run further statements on the connection (e.g. a rare fallback read), emits the command's events and
/// returns its result. Statements of one batch run one after another in the batch's transaction, so a command sees
/// the rows of the commands before it, and events keep command order because only <see cref="CompleteAsync"/>
/// emits them.</para>
/// <para>A failing statement fails the whole batch (and the transaction), as a failing
/// <see cref="WriteCommand.ExecuteAsync"/> does; the <see cref="EventWriter"/> then retries each command alone.
/// A command may therefore run more than once: <see cref="AddTo"/> starts its state over.</para>
/// </remarks>
public interface IBatchedWrite
{
    /// <summary>Adds the command's one statement, which returns one result set, to <paramref name="batch"/>.</summary>
    void AddTo(DbBatch batch, WriteContext context);

    /// <summary>Reads the command's result set, on which <paramref name="reader"/> is positioned. Runs no statement.</summary>
    Task ReadAsync(DbDataReader reader, CancellationToken cancellationToken);

    /// <summary>After the batch has run: emits the command's events and returns its result, as <see cref="WriteCommand.ExecuteAsync"/> would.</summary>
    Task<object?> CompleteAsync(WriteContext context, CancellationToken cancellationToken);
}

/// <summary>A <see cref="WriteCommand"/> with a typed result.</summary>
public abstract class WriteCommand<T> : WriteCommand
{
    public sealed override async Task<object?> ExecuteAsync(WriteContext context, CancellationToken cancellationToken) =>
        await RunAsync(context, cancellationToken);

    protected abstract Task<T> RunAsync(WriteContext context, CancellationToken cancellationToken);
}

/// <summary>What a <see cref="WriteCommand"/> sees: the open connection and transaction, the batch clock, and a way to emit events.</summary>
public sealed class WriteContext
{
    private readonly List<PendingEvent> _events;

    internal WriteContext(DbConnection connection, DbTransaction transaction, SqlDialect dialect, long nowMs, List<PendingEvent> events)
    {
        Dialect = dialect;
        Connection = connection;
        Transaction = transaction;
        NowMs = nowMs;
        _events = events;
    }

    public DbConnection Connection { get; }

    /// <summary>The engine's SQL differences, for a command that can do better on one of them.</summary>
    public SqlDialect Dialect { get; }

    public DbTransaction Transaction { get; }

    /// <summary>One timestamp for the whole batch, Unix milliseconds.</summary>
    public long NowMs { get; }

    /// <summary>Adds an event that is stored with this batch and delivered after it commits.</summary>
    /// <returns>The pending event; its <see cref="PendingEvent.Id"/> is set once the batch has committed.</returns>
    /// <param name="topic">The topic.</param>
    /// <param name="type">The SSE event name.</param>
    /// <param name="data">UTF-8 JSON payload.</param>
    /// <param name="key">Optional filter key within the topic (see <see cref="Events.HubEvent.Key"/>).</param>
    public PendingEvent Emit(string topic, string type, byte[] data, long key = 0)
    {
        var pending = new PendingEvent(topic, type, data, key);
        _events.Add(pending);
        return pending;
    }
}

/// <summary>An event emitted by a command, waiting for its batch to commit.</summary>
public sealed class PendingEvent(string topic, string type, byte[] data, long key) : INewEvent
{
    public long Key { get; } = key;
    public string Topic { get; } = topic;
    public string Type { get; } = type;
    public byte[] Data { get; } = data;

    /// <summary>The event id, assigned at commit; 0 until then.</summary>
    public long Id { get; internal set; }
}
