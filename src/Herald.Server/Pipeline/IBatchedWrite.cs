using System.Data.Common;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

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
