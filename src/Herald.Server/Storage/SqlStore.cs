using System.Data;
using System.Data.Common;
using Dapper;

namespace Herald.Server.Storage;

/// <summary>
/// The store, written once against ADO.NET for both engines; <see cref="SqliteStore"/> and
/// <see cref="PostgresStore"/> supply connections and the <see cref="SqlDialect"/>.
/// </summary>
/// <remarks>
/// Reads run on pooled connections and may run concurrently. Events are written only through
/// <see cref="BeginWriteAsync"/> and <see cref="StoreEventsAndCommitAsync"/>, by the pipeline's batch commit
/// (<c>Pipeline.BatchCommit</c>), which the single <c>EventWriter</c> loop of this node runs.
/// </remarks>
public abstract class SqlStore : IAsyncDisposable
{
    static SqlStore() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    protected SqlStore(SqlDialect dialect) => Dialect = dialect;

    public SqlDialect Dialect { get; }

    /// <summary>Where the data is, for the start-up log: an absolute file path, or a server and database (never a password).</summary>
    public abstract string Location { get; }

    /// <summary>Opens a connection for reads.</summary>
    protected abstract ValueTask<DbConnection> OpenReadConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Opens a connection for a write transaction.</summary>
    protected virtual ValueTask<DbConnection> OpenWriteConnectionAsync(CancellationToken cancellationToken) =>
        OpenReadConnectionAsync(cancellationToken);

    /// <summary>Begins the write transaction (SQLite: IMMEDIATE, so the write lock is taken up front).</summary>
    protected virtual ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenWriteConnectionAsync(cancellationToken);
        await using var tx = await BeginWriteTransactionAsync(connection, cancellationToken);
        if (Dialect.MigrationLock.Length > 0)
        {
            await connection.ExecuteAsync(Dialect.MigrationLock, transaction: tx);
        }

        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS herald_schema (version INT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)", transaction: tx);
        var applied = (await connection.QueryAsync<long>("SELECT version FROM herald_schema", transaction: tx)).ToHashSet();
        foreach (var (version, sql) in Schema.Migrations)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await connection.ExecuteAsync(sql.Replace("{ID}", Dialect.IdentityColumn, StringComparison.Ordinal), transaction: tx);
            await connection.ExecuteAsync("INSERT INTO herald_schema (version, applied_at) VALUES (@version, @now)",
                new { version, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx);
        }

        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Takes a write connection and begins the write transaction on it; the caller ends both with
    /// <see cref="EndWriteAsync"/>. Only the pipeline's batch commit (<c>Pipeline.BatchCommit</c>) writes events, on the
    /// node's single writer loop.
    /// </summary>
    public async ValueTask<(DbConnection Connection, DbTransaction Transaction)> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var connection = await RentWriteConnectionAsync(cancellationToken);
        try
        {
            return (connection, await BeginWriteTransactionAsync(connection, cancellationToken));
        }
        catch
        {
            await ReleaseWriteConnectionAsync(connection);
            throw;
        }
    }

    /// <summary>Disposes <paramref name="tx"/> (rolling it back unless it committed) and gives its connection back.</summary>
    public async ValueTask EndWriteAsync(DbConnection connection, DbTransaction tx)
    {
        try
        {
            await tx.DisposeAsync();
        }
        finally
        {
            await ReleaseWriteConnectionAsync(connection);
        }
    }

    /// <summary>The connection for a write batch (<see cref="SqliteStore"/> keeps one open for its single writer).</summary>
    protected virtual ValueTask<DbConnection> RentWriteConnectionAsync(CancellationToken cancellationToken) =>
        OpenWriteConnectionAsync(cancellationToken);

    /// <summary>Gives back a connection of <see cref="RentWriteConnectionAsync"/>.</summary>
    protected virtual ValueTask ReleaseWriteConnectionAsync(DbConnection connection) => connection.DisposeAsync();

    /// <summary>
    /// Called by the node's single writer after each batch has been committed and its events published, before it
    /// takes the next: upkeep that needs the write connection and must not delay a commit (<see cref="SqliteStore"/>
    /// finishes its WAL checkpoint here). Must not throw: the writer goes on with the next batch. Nothing by default.
    /// </summary>
    public virtual ValueTask BetweenWriteBatchesAsync() => ValueTask.CompletedTask;

    /// <summary>The prepared statements kept with <paramref name="connection"/> for its life; null when it keeps none.</summary>
    public virtual StatementCache? StatementsOf(DbConnection connection) => null;

    /// <summary>
    /// What a write command's statements name as their transaction (<c>WriteContext.Transaction</c>):
    /// <paramref name="transaction"/> itself, or null where the engine's transaction is the connection's own and its
    /// driver refuses a command naming one it did not begin (SQLite's writer, <see cref="SqliteWriteTransaction"/>).
    /// </summary>
    public virtual DbTransaction? CommandTransaction(DbTransaction transaction) => transaction;

    /// <summary>
    /// Takes the next <paramref name="pending"/>.Count ids of the global sequence, stores the batch's events under
    /// them and commits <paramref name="tx"/>; returns the first id. <see cref="SqliteStore"/> runs three steps: the
    /// sequence UPDATE, one prepared INSERT run once per event, which in process costs a bind and a step each, and the
    /// commit. <see cref="PostgresStore"/> sends all of it at once, because over a network every round trip is waited for by
    /// the node's single writer. Either way the sequence row is the last thing the transaction locks before its commit.
    /// </summary>
    public abstract Task<long> StoreEventsAndCommitAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<INewEvent> pending, long now, CancellationToken ct);

    // ---- Reads -------------------------------------------------------------------------------------

    public Task<OperatorRecord?> FindOperatorByEmailAsync(string email, CancellationToken ct = default) =>
        QuerySingleAsync<OperatorRecord>("SELECT * FROM operators WHERE email = @email", new { email }, ct);

    public Task<IReadOnlyList<OperatorRecord>> ListOperatorsAsync(CancellationToken ct = default) =>
        QueryListAsync<OperatorRecord>("SELECT * FROM operators ORDER BY id", null, ct);

    public async Task<long> CountOperatorsAsync(CancellationToken ct = default)
    {
        await using var c = await OpenReadConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM operators");
    }

    public Task<AssistantRecord?> GetAssistantAsync(long id, CancellationToken ct = default) =>
        QuerySingleAsync<AssistantRecord>("SELECT * FROM assistants WHERE id = @id", new { id }, ct);

    /// <summary>Those of <paramref name="ids"/> that exist, in one query per <see cref="MaxIdsPerQuery"/> ids (the re-check of open streams).</summary>
    public Task<List<AssistantRecord>> GetAssistantsAsync(IReadOnlyList<long> ids, CancellationToken ct = default) =>
        QueryByIdsAsync<AssistantRecord>("SELECT * FROM assistants WHERE id IN ({0})", ids, ct);

    /// <summary>Those of <paramref name="ids"/> that exist, in one query per <see cref="MaxIdsPerQuery"/> ids (the re-check of open streams).</summary>
    public Task<List<WidgetTokenRecord>> GetWidgetTokensAsync(IReadOnlyList<long> ids, CancellationToken ct = default) =>
        QueryByIdsAsync<WidgetTokenRecord>("SELECT * FROM widget_tokens WHERE id IN ({0})", ids, ct);

    public Task<IReadOnlyList<AssistantRecord>> ListAssistantsAsync(CancellationToken ct = default) =>
        QueryListAsync<AssistantRecord>("SELECT * FROM assistants ORDER BY id", null, ct);

    public Task<WidgetTokenRecord?> FindWidgetTokenAsync(string tokenHash, CancellationToken ct = default) =>
        QuerySingleAsync<WidgetTokenRecord>("SELECT * FROM widget_tokens WHERE token_hash = @tokenHash", new { tokenHash }, ct);

    public Task<IReadOnlyList<WidgetTokenRecord>> ListWidgetTokensAsync(long? assistantId, CancellationToken ct = default) =>
        QueryListAsync<WidgetTokenRecord>("SELECT * FROM widget_tokens WHERE (@assistantId IS NULL OR assistant_id = @assistantId) ORDER BY id",
            new { assistantId }, ct);

    public Task<DialogRecord?> GetDialogAsync(long id, CancellationToken ct = default) =>
        QuerySingleAsync<DialogRecord>("SELECT * FROM dialogs WHERE id = @id", new { id }, ct);

    /// <summary>Where the dialog's visitor is (page, referrer, browser), or null when the widget has not said.</summary>
    public Task<DialogVisitorRecord?> GetDialogVisitorAsync(long dialogId, CancellationToken ct = default) =>
        QuerySingleAsync<DialogVisitorRecord>("SELECT * FROM dialog_visitors WHERE dialog_id = @dialogId", new { dialogId }, ct);

    public Task<DialogRecord?> FindGuestDialogAsync(long assistantId, string guestId, CancellationToken ct = default) =>
        QuerySingleAsync<DialogRecord>("SELECT * FROM dialogs WHERE assistant_id = @assistantId AND guest_id = @guestId", new { assistantId, guestId }, ct);

    public Task<OperatorRecord?> GetOperatorAsync(long id, CancellationToken ct = default) =>
        QuerySingleAsync<OperatorRecord>("SELECT * FROM operators WHERE id = @id", new { id }, ct);

    /// <summary>
    /// Dialogs, most recently active first; without <see cref="DialogFilter.IncludeEmpty"/> only those with a message, so
    /// that widgets opened and never written in (a flood of them, even) cannot push real conversations off the page.
    /// </summary>
    public Task<IReadOnlyList<DialogRecord>> ListDialogsAsync(DialogFilter filter, int limit, CancellationToken ct = default) =>
        QueryListAsync<DialogRecord>(
            """
            SELECT * FROM dialogs WHERE (@assistantId IS NULL OR assistant_id = @assistantId) AND (@includeEmpty OR last_message_at IS NOT NULL)
                AND (guest_id IS NULL OR guest_id NOT LIKE @probes)
                AND (@status IS NULL OR status = @status)
                AND (NOT @unassigned OR assignee_id IS NULL) AND (@assigneeId IS NULL OR assignee_id = @assigneeId)
            ORDER BY COALESCE(last_message_at, created_at) DESC, id DESC LIMIT @limit
            """,
            new
            {
                assistantId = filter.AssistantId, includeEmpty = filter.IncludeEmpty, status = filter.Status, unassigned = filter.Unassigned,
                assigneeId = filter.AssigneeId, limit, probes = DialogRecord.ProbeGuestPrefix + "%",
            }, ct);

    /// <summary>Messages of a dialog after <paramref name="afterId"/>, oldest first; or the newest <paramref name="limit"/> when <paramref name="afterId"/> is null.</summary>
    public async Task<IReadOnlyList<MessageRecord>> ListMessagesAsync(long dialogId, long? afterId, int limit, CancellationToken ct = default)
    {
        if (afterId is { } after)
        {
            return await QueryListAsync<MessageRecord>(
                "SELECT * FROM messages WHERE dialog_id = @dialogId AND id > @after ORDER BY id LIMIT @limit", new { dialogId, after, limit }, ct);
        }

        var newest = await QueryListAsync<MessageRecord>(
            "SELECT * FROM messages WHERE dialog_id = @dialogId ORDER BY id DESC LIMIT @limit", new { dialogId, limit }, ct);
        return newest.Reverse().ToList();
    }

    /// <summary>Events of <paramref name="topics"/> after <paramref name="afterId"/>, in id order.</summary>
    public Task<IReadOnlyList<EventRecord>> ReadEventsAsync(IReadOnlyList<string> topics, long afterId, int limit, CancellationToken ct = default) =>
        topics.Count == 1
            ? QueryListAsync<EventRecord>("SELECT * FROM events WHERE topic = @topic AND id > @afterId ORDER BY id LIMIT @limit",
                new { topic = topics[0], afterId, limit }, ct)
            : QueryListAsync<EventRecord>(InClause("SELECT * FROM events WHERE topic IN ({0}) AND id > @afterId ORDER BY id LIMIT @limit", topics.Count),
                TopicParameters(topics, new { afterId, limit }), ct);

    /// <summary>
    /// The events of <paramref name="topic"/> stored under <paramref name="key"/>, oldest first: a Mercure
    /// <c>Last-Event-ID</c> that names a publisher's id (the key is a hash of it; the caller compares the ids).
    /// </summary>
    public Task<IReadOnlyList<EventRecord>> FindEventsByKeyAsync(string topic, long key, int limit, CancellationToken ct = default) =>
        QueryListAsync<EventRecord>("SELECT * FROM events WHERE topic = @topic AND event_key = @key ORDER BY id LIMIT @limit",
            new { topic, key, limit }, ct);

    /// <summary>All events with <paramref name="afterId"/> &lt; id ≤ <paramref name="throughId"/>, in id order (catch-up).</summary>
    public Task<IReadOnlyList<EventRecord>> ReadEventRangeAsync(long afterId, long throughId, int limit, CancellationToken ct = default) =>
        QueryListAsync<EventRecord>("SELECT * FROM events WHERE id > @afterId AND id <= @throughId ORDER BY id LIMIT @limit",
            new { afterId, throughId, limit }, ct);

    /// <summary>The highest event id ever handed out (0 when none).</summary>
    public async Task<long> GetLastEventIdAsync(CancellationToken ct = default)
    {
        await using var c = await OpenReadConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>("SELECT value FROM herald_sequences WHERE name = 'events'");
    }

    /// <summary>The highest id retention removed from any of <paramref name="topics"/> (0 when none).</summary>
    public async Task<long> GetTrimmedThroughAsync(IReadOnlyList<string> topics, CancellationToken ct = default)
    {
        await using var c = await OpenReadConnectionAsync(ct);
        var sql = InClause("SELECT COALESCE(MAX(trimmed_through), 0) FROM topic_horizons WHERE topic IN ({0})", topics.Count);
        return await c.ExecuteScalarAsync<long>(sql, TopicParameters(topics, null));
    }

    /// <summary>
    /// Removes events that are both older than <paramref name="olderThanMs"/> and not among the newest
    /// <paramref name="keepPerTopic"/> of their topic, and records each topic's new horizon.
    /// </summary>
    public async Task<int> TrimEventsAsync(long olderThanMs, int keepPerTopic, CancellationToken ct = default)
    {
        await using var connection = await OpenWriteConnectionAsync(ct);
        await using var tx = await BeginWriteTransactionAsync(connection, ct);
        // Per topic, the highest id that may go: the keepPerTopic-th newest id minus one, capped by age.
        var candidates = (await connection.QueryAsync<(string Topic, long Through)>(
            $"""
            SELECT t.topic AS Topic,
                   {Dialect.Least}(COALESCE((SELECT e2.id FROM events e2 WHERE e2.topic = t.topic ORDER BY e2.id DESC LIMIT 1 OFFSET @offset), 0),
                       COALESCE((SELECT MAX(e3.id) FROM events e3 WHERE e3.topic = t.topic AND e3.created_at < @olderThanMs), 0)) AS Through
            FROM (SELECT DISTINCT topic FROM events WHERE created_at < @olderThanMs) t
            """, new { offset = keepPerTopic, olderThanMs }, tx)).Where(c => c.Through > 0).ToList();
        var removed = 0;
        foreach (var (topic, through) in candidates)
        {
            removed += await connection.ExecuteAsync("DELETE FROM events WHERE topic = @topic AND id <= @through", new { topic, through }, tx);
            await connection.ExecuteAsync(
                """
                INSERT INTO topic_horizons (topic, trimmed_through) VALUES (@topic, @through)
                ON CONFLICT (topic) DO UPDATE SET trimmed_through = CASE WHEN excluded.trimmed_through > topic_horizons.trimmed_through
                    THEN excluded.trimmed_through ELSE topic_horizons.trimmed_through END
                """, new { topic, through }, tx);
        }

        await tx.CommitAsync(ct);
        return removed;
    }

    public abstract ValueTask DisposeAsync();

    protected async Task<T?> QuerySingleAsync<T>(string sql, object? args, CancellationToken ct)
    {
        await using var c = await OpenReadConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, args, cancellationToken: ct));
    }

    protected async Task<IReadOnlyList<T>> QueryListAsync<T>(string sql, object? args, CancellationToken ct)
    {
        await using var c = await OpenReadConnectionAsync(ct);
        return (await c.QueryAsync<T>(new CommandDefinition(sql, args, cancellationToken: ct))).AsList();
    }

    /// <summary>Ids per <c>IN</c> list: well under SQLite's and PostgreSQL's parameter limits.</summary>
    public const int MaxIdsPerQuery = 500;

    private async Task<List<T>> QueryByIdsAsync<T>(string format, IReadOnlyList<long> ids, CancellationToken ct)
    {
        var rows = new List<T>(ids.Count);
        if (ids.Count == 0)
        {
            return rows;
        }

        await using var c = await OpenReadConnectionAsync(ct);
        foreach (var chunk in ids.Chunk(MaxIdsPerQuery))
        {
            // Named parameters, as for topics: Dapper's "IN @ids" becomes an array parameter on Npgsql, which IN does not take.
            var parameters = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
            {
                parameters.Add("t" + i, chunk[i]);
            }

            rows.AddRange(await c.QueryAsync<T>(new CommandDefinition(InClause(format, chunk.Length), parameters, cancellationToken: ct)));
        }

        return rows;
    }

    private static string InClause(string format, int count) =>
        string.Format(format, string.Join(", ", Enumerable.Range(0, count).Select(i => "@t" + i)));

    private static DynamicParameters TopicParameters(IReadOnlyList<string> topics, object? rest)
    {
        var p = new DynamicParameters(rest);
        for (var i = 0; i < topics.Count; i++)
        {
            p.Add("t" + i, topics[i]);
        }

        return p;
    }
}
