using System.Data.Common;
using Herald.Server.Events;
using Herald.Server.Storage;

namespace Herald.Server.Pipeline;

/// <summary>
/// Runs a batch of <see cref="WriteCommand"/>s in one transaction of the store and commits their events with them:
/// the <see cref="EventWriter"/>'s commit, and the one way to write without it (startup, the <c>herald users</c> command).
/// </summary>
public static class BatchCommit
{
    /// <summary>
    /// Runs <paramref name="commands"/> in one transaction, assigns the events they emitted the next ids of the
    /// global sequence, stores them, and commits. Returns the committed events in id order.
    /// </summary>
    /// <remarks>
    /// <para>The sequence row is updated last, just before the event rows are inserted and the transaction
    /// commits (<see cref="SqlStore.StoreEventsAndCommitAsync"/>): the row lock it takes (PostgreSQL) or the database
    /// write lock (SQLite) is held until commit, so ids are handed out in commit order and without gaps across all
    /// nodes. A reader that has seen id N has therefore seen every event below N — the property Last-Event-ID resume
    /// depends on. A command that throws fails the whole attempt; the writer then retries each command on its own.</para>
    /// <para>Where the dialect batches statements (PostgreSQL), consecutive <see cref="IBatchedWrite"/> commands
    /// of one type go to the server as one <see cref="DbBatch"/>, and the sequence update, the event rows and the
    /// COMMIT go together: a batch of chat messages costs two round trips (the messages with the lazily sent BEGIN;
    /// the events and COMMIT) whatever its size.</para>
    /// </remarks>
    public static async Task<IReadOnlyList<HubEvent>> CommitBatchAsync(this SqlStore store, IReadOnlyList<WriteCommand> commands, List<object?> results, CancellationToken cancellationToken)
    {
        var (connection, tx) = await store.BeginWriteAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var pending = new List<PendingEvent>();
        var context = new WriteContext(connection, store.CommandTransaction(tx), store.Dialect, now, pending, store.StatementsOf(connection));
        long firstId;
        try
        {
            var batching = store.Dialect.BatchesStatements && connection.CanCreateBatch;
            results.Clear();
            for (var i = 0; i < commands.Count;)
            {
                if (batching && commands[i] is IBatchedWrite)
                {
                    var end = i + 1;
                    while (end < commands.Count && commands[end].GetType() == commands[i].GetType())
                    {
                        end++;
                    }

                    await RunBatchedAsync(context, commands, i, end, results, cancellationToken);
                    i = end;
                }
                else
                {
                    context.TraceParent = commands[i].TraceParent;
                    results.Add(await commands[i].ExecuteAsync(context, cancellationToken));
                    i++;
                }
            }

            if (pending.Count == 0)
            {
                await tx.CommitAsync(cancellationToken);
                return [];
            }

            firstId = await store.StoreEventsAndCommitAsync(connection, tx, pending, now, cancellationToken);
        }
        finally
        {
            await store.EndWriteAsync(connection, tx);
        }

        // Frames are encoded after commit so the sequence lock is not held for it.
        var committed = new HubEvent[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            pending[i].Id = firstId + i;
            // The emitting command's context for now; EventWriter replaces it with its publish span's.
            committed[i] = new HubEvent(firstId + i, pending[i].Topic, pending[i].Type, pending[i].Data, now, pending[i].Key) { TraceContext = pending[i].TraceParent?.Value ?? default };
        }

        return committed;
    }

    /// <summary>
    /// Commands <paramref name="from"/> to <paramref name="to"/> (exclusive), all <see cref="IBatchedWrite"/>, in one
    /// <see cref="DbBatch"/>: one round trip. Their results and events are taken in command order once it has run.
    /// </summary>
    private static async Task RunBatchedAsync(WriteContext context, IReadOnlyList<WriteCommand> commands, int from, int to, List<object?> results, CancellationToken ct)
    {
        await using (var batch = context.Connection.CreateBatch())
        {
            batch.Transaction = context.Transaction;
            for (var i = from; i < to; i++)
            {
                context.TraceParent = commands[i].TraceParent;
                ((IBatchedWrite)commands[i]).AddTo(batch, context);
            }

            await using var reader = await batch.ExecuteReaderAsync(ct);
            for (var i = from; i < to; i++)
            {
                if (i > from && !await reader.NextResultAsync(ct))
                {
                    throw new InvalidOperationException($"{commands[i].GetType().Name}: the batch returned fewer result sets than commands.");
                }

                await ((IBatchedWrite)commands[i]).ReadAsync(reader, ct);
            }
        }

        for (var i = from; i < to; i++)
        {
            context.TraceParent = commands[i].TraceParent;
            results.Add(await ((IBatchedWrite)commands[i]).CompleteAsync(context, ct));
        }
    }
}
