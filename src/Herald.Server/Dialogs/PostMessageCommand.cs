using System.Data;
using System.Data.Common;
using Dapper;
using Herald.Server.Pipeline;
using Herald.Server.Storage;

namespace Herald.Server.Dialogs;

/// <summary>
/// Stores a message and emits its one <c>message:new</c> event in the same transaction. With a
/// <c>client_message_id</c> already used in the dialog, returns that message and emits nothing (a retried POST).
/// An operator's message records its author (id and display name); a visitor's message reopens a resolved dialog.
/// </summary>
/// <remarks>
/// On PostgreSQL the messages of a write batch go to the server as one batch of statements
/// (<see cref="IBatchedWrite"/>), each storing its message and updating its dialog in one statement; elsewhere
/// (SQLite, in process) two statements per message.
/// </remarks>
public sealed class PostMessageCommand(long dialogId, string sender, string text, string? clientMessageId = null, long? authorId = null, string? authorName = null)
    : WriteCommand<MessageRecord>, IBatchedWrite
{
    private const int PreviewLength = 200;

    private const string InsertMessageSql = """
        INSERT INTO messages (dialog_id, sender, text, created_at, client_message_id, author_id, author_name)
            VALUES (@dialogId, @sender, @text, @now, @clientMessageId, @authorId, @authorName)
        ON CONFLICT (dialog_id, client_message_id) DO NOTHING
        """;

    private const string UpdateDialogSql = """
        UPDATE dialogs SET last_message_at = @now, last_message_text = @preview, last_message_sender = @sender,
            unread_count = CASE WHEN @sender = 'user' THEN dialogs.unread_count + 1 ELSE 0 END,
            status = CASE WHEN @sender = 'user' THEN 'open' ELSE dialogs.status END
        """;

    // PostgreSQL, one statement per message, written from the same two pieces: the dialog is updated only when the
    // message row was inserted (not a retried POST), and the updated dialog comes back with the message id. Positional
    // ($1 = @dialogId, ... in AddTo's order) because Npgsql sends a batch command with only positional parameters
    // as it is, without parsing its text for every execution.
    private static readonly string BatchedSql = Positional(
        $"""
        WITH m AS ({InsertMessageSql} RETURNING id)
        {UpdateDialogSql} FROM m WHERE dialogs.id = @dialogId
        RETURNING m.id, {DialogColumns}
        """,
        "@dialogId", "@sender", "@text", "@now", "@clientMessageId", "@preview", "@authorId", "@authorName");

    // What the batched statement returned (IBatchedWrite.ReadAsync), for IBatchedWrite.CompleteAsync.
    private long _messageId;
    private DialogRecord? _dialog;

    /// <summary>True when the result is an earlier message with the same client_message_id.</summary>
    public bool WasDuplicate { get; private set; }

    /// <summary>The stored message as the API shows it (<see cref="MessageDto"/>'s JSON), UTF-8; empty for a retried POST.</summary>
    public ReadOnlyMemory<byte> MessageJson { get; private set; }

    private string Preview => text.Length > PreviewLength ? text[..PreviewLength] : text;

    // SQLite: prepared once on the writer's connection (WriteContext.Statement), re-bound per message.
    private static readonly string InsertReturningIdSql = $"{InsertMessageSql} RETURNING id";
    private static readonly string UpdateReturningDialogSql = $"{UpdateDialogSql} WHERE id = @dialogId RETURNING {DialogColumns}";

    // The dialog's columns in the order ReadDialog reads them.
    private const string DialogColumns =
        "dialogs.id, dialogs.assistant_id, dialogs.guest_id, dialogs.created_at, dialogs.last_message_at, dialogs.last_message_text, dialogs.last_message_sender, dialogs.unread_count, dialogs.status, dialogs.assignee_id";

    protected override Task<MessageRecord> RunAsync(WriteContext context, CancellationToken cancellationToken)
    {
        var insert = context.Statement(InsertReturningIdSql, "@dialogId", "@sender", "@text", "@now", "@clientMessageId", "@authorId", "@authorName");
        insert.Bind(0, dialogId);
        insert.Bind(1, sender);
        insert.Bind(2, text);
        insert.Bind(3, context.NowMs);
        insert.Bind(4, clientMessageId);
        insert.Bind(5, authorId);
        insert.Bind(6, authorName);
        if (insert.ExecuteInt64() is not { } id)
        {
            return FinishAsync(context, 0, null); // no row inserted: a retried POST
        }

        var preview = Preview;
        var update = context.Statement(UpdateReturningDialogSql, "@now", "@preview", "@sender", "@dialogId");
        update.Bind(0, context.NowMs);
        update.Bind(1, preview);
        update.Bind(2, sender);
        update.Bind(3, dialogId);
        DialogRecord? dialog = null;
        try
        {
            if (update.Step())
            {
                dialog = new DialogRecord
                {
                    Id = update.GetInt64(0),
                    AssistantId = update.GetInt64(1),
                    GuestId = update.GetString(2),
                    CreatedAt = update.GetInt64(3),
                    LastMessageAt = update.IsNull(4) ? null : update.GetInt64(4),
                    // What this statement just wrote: the strings at hand, not copies read back.
                    LastMessageText = preview,
                    LastMessageSender = sender,
                    UnreadCount = update.GetInt64(7),
                    // A visitor's message reopens the dialog (UpdateDialogSql's CASE): no string to read back then.
                    Status = sender == "user" ? DialogStatus.Open : update.GetString(8) ?? DialogStatus.Open,
                    AssigneeId = update.IsNull(9) ? null : update.GetInt64(9),
                };
            }
        }
        finally
        {
            update.Reset();
        }

        return FinishAsync(context, id, dialog ?? throw new InvalidOperationException($"Dialog {dialogId} vanished while a message was stored in it."));
    }

    void IBatchedWrite.AddTo(DbBatch batch, WriteContext context)
    {
        _messageId = 0;
        _dialog = null;
        var command = batch.CreateBatchCommand();
        command.CommandText = BatchedSql;
        command.Parameters.Add(Parameter(command, DbType.Int64, dialogId));
        command.Parameters.Add(Parameter(command, DbType.String, sender));
        command.Parameters.Add(Parameter(command, DbType.String, text));
        command.Parameters.Add(Parameter(command, DbType.Int64, context.NowMs));
        command.Parameters.Add(Parameter(command, DbType.String, clientMessageId));
        command.Parameters.Add(Parameter(command, DbType.String, Preview));
        command.Parameters.Add(Parameter(command, DbType.Int64, authorId));
        command.Parameters.Add(Parameter(command, DbType.String, authorName));
        batch.BatchCommands.Add(command);
    }

    async Task IBatchedWrite.ReadAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.ReadAsync(cancellationToken))
        {
            return; // no row inserted: a retried POST
        }

        _messageId = reader.GetInt64(0);
        _dialog = ReadDialog(reader, 1);
    }

    private static DialogRecord ReadDialog(DbDataReader reader, int first) => new()
    {
        Id = reader.GetInt64(first),
        AssistantId = reader.GetInt64(first + 1),
        GuestId = reader.IsDBNull(first + 2) ? null : reader.GetString(first + 2),
        CreatedAt = reader.GetInt64(first + 3),
        LastMessageAt = reader.IsDBNull(first + 4) ? null : reader.GetInt64(first + 4),
        LastMessageText = reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5),
        LastMessageSender = reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6),
        UnreadCount = reader.GetInt64(first + 7),
        Status = reader.GetString(first + 8),
        AssigneeId = reader.IsDBNull(first + 9) ? null : reader.GetInt64(first + 9),
    };

    async Task<object?> IBatchedWrite.CompleteAsync(WriteContext context, CancellationToken cancellationToken) =>
        await FinishAsync(context, _messageId, _dialog);

    /// <summary>Emits the events of a stored message; for a retried POST (nothing stored) reads the earlier message instead.</summary>
    private Task<MessageRecord> FinishAsync(WriteContext context, long id, DialogRecord? dialog)
    {
        if (dialog is null)
        {
            WasDuplicate = true;
            MessageJson = default;
            return context.Connection.QuerySingleAsync<MessageRecord>(
                "SELECT * FROM messages WHERE dialog_id = @dialogId AND client_message_id = @clientMessageId", new { dialogId, clientMessageId }, context.Transaction);
        }

        WasDuplicate = false;
        var message = new MessageRecord { Id = id, DialogId = dialogId, Sender = sender, Text = text, CreatedAt = context.NowMs, ClientMessageId = clientMessageId,
            AuthorId = authorId, AuthorName = authorName };
        // Exactly one event on the dialog's own stream; the operators' feed gets its two views of the same change.
        var messageNew = ChatEventJson.MessageNew(message, out var messageStart);
        // The POST's answer is the message object inside it (without the event's closing brace).
        MessageJson = messageNew.AsMemory(messageStart, messageNew.Length - messageStart - 1);
        context.Emit(DialogTopics.For(dialogId), "message", messageNew);
        // A probe's dialog (herald doctor) never reaches operators: no sound, no unread row for a test message.
        if (!dialog.IsProbe)
        {
            context.Emit(DialogTopics.OperatorFeed, "new_message", ChatEventJson.NewMessage(message), dialogId);
            DialogTopics.EmitDialogUpdate(context, dialog);
        }

        return Task.FromResult(message);
    }

    /// <summary><paramref name="sql"/> with each of <paramref name="names"/> replaced by <c>$1</c>, <c>$2</c>, ... in order.</summary>
    private static string Positional(string sql, params string[] names)
    {
        // Longest first, so that no name is replaced inside a longer one that begins with it.
        foreach (var (name, position) in names.Select((n, i) => (n, i + 1)).OrderByDescending(p => p.n.Length))
        {
            sql = sql.Replace(name, "$" + position, StringComparison.Ordinal);
        }

        return sql;
    }

    private static DbParameter Parameter(DbBatchCommand command, DbType type, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.DbType = type;
        parameter.Value = value ?? DBNull.Value;
        return parameter;
    }
}
